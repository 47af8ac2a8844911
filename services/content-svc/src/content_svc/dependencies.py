"""content-svc dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from content_svc.config import Settings
from content_svc.db import IDEMPOTENCY_KEYS
from content_svc.moderation.service import LexiconCache
from qunyun_shared.idempotent_routes import route_class

# Every router's class: each write answers a repeat of its Idempotency-Key with its first answer.
IdempotentRoute = route_class(IDEMPOTENCY_KEYS)


async def get_lexicons(request: Request) -> LexiconCache:
    lexicons: LexiconCache = request.app.state.lexicons
    return lexicons


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


Lexicons = Annotated[LexiconCache, Depends(get_lexicons)]
ContentSettings = Annotated[Settings, Depends(get_settings)]
