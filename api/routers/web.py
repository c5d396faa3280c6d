"""The web console (网页控制台): HTML pages at ``/``, ``/board``, ``/hotline``, ``/plans``,
``/batches`` and ``/phone`` and their scripts and styles at ``/static/...``, all shipped in
``api/web``. Nothing is loaded from elsewhere; the pages call ``/api/v1`` with the bearer token
the user enters."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["PAGES", "WEB_DIR", "router"]

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_STATIC = WEB_DIR / "static"
#: Page path → (script module, title, roles that may use it).
PAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "/": ("home", "居家养老调度 · Eldercare dispatch", ("dispatcher", "planner", "caregiver")),
    "/board": ("board", "调度看板 · Day board", ("dispatcher",)),
    "/hotline": ("hotline", "热线派单 · Hotline desk", ("dispatcher",)),
    "/plans": ("plans", "规划工作台 · Planner's workbench", ("planner",)),
    "/batches": ("batches", "方案对比 · Batches", ("planner",)),
    "/phone": ("phone", "护理员 · Caregiver", ("caregiver",)),
}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def _page(path: str) -> str:
    module, title, roles = PAGES[path]
    template = (WEB_DIR / "page.html").read_text("utf-8")
    return (
        template.replace("{{title}}", html.escape(title))
        .replace("{{page}}", module)
        .replace("{{roles}}", ",".join(roles))
    )


def _serve(path: str) -> HTMLResponse:
    return HTMLResponse(_page(path))


@router.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return _serve("/")


@router.get("/board", response_class=HTMLResponse)
def board() -> HTMLResponse:
    return _serve("/board")


@router.get("/hotline", response_class=HTMLResponse)
def hotline() -> HTMLResponse:
    return _serve("/hotline")


@router.get("/plans", response_class=HTMLResponse)
def plans() -> HTMLResponse:
    return _serve("/plans")


@router.get("/batches", response_class=HTMLResponse)
def batches() -> HTMLResponse:
    return _serve("/batches")


@router.get("/phone", response_class=HTMLResponse)
def phone() -> HTMLResponse:
    return _serve("/phone")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """A script or style of the console (one flat directory, no subpaths)."""
    target = (_STATIC / name).resolve()
    kind = _TYPES.get(target.suffix)
    if kind is None or target.parent != _STATIC or not target.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(target, media_type=kind)
