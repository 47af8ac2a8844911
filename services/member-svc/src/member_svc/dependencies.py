"""member-svc dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from member_svc.personal_data import PersonalDataCipher


async def get_cipher(request: Request) -> PersonalDataCipher:
    cipher: PersonalDataCipher = request.app.state.cipher
    return cipher


Cipher = Annotated[PersonalDataCipher, Depends(get_cipher)]
