"""Dependencies of the route handlers, as ``Annotated`` aliases (``settings: SettingsDep``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings

__all__ = ["SettingsDep", "get_settings"]


def get_settings(request: Request) -> Settings:
    """The settings the running app was created with (see ``api.app.create_app``)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
