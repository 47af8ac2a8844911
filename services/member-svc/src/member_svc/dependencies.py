"""member-svc dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from member_svc.db import IDEMPOTENCY_KEYS
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.idempotent_routes import route_class

# Every router's class: each write answers a repeat of its Idempotency-Key with its first answer.
IdempotentRoute = route_class(IDEMPOTENCY_KEYS)


async def get_cipher(request: Request) -> PersonalDataCipher:
    cipher: PersonalDataCipher = request.app.state.cipher
    return cipher


Cipher = Annotated[PersonalDataCipher, Depends(get_cipher)]
