"""content-svc dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from content_svc.config import Settings
from content_svc.screening import LexiconCache


async def get_lexicons(request: Request) -> LexiconCache:
    lexicons: LexiconCache = request.app.state.lexicons
    return lexicons


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


Lexicons = Annotated[LexiconCache, Depends(get_lexicons)]
ContentSettings = Annotated[Settings, Depends(get_settings)]
