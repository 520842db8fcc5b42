"""GET /: the demo page (static files live in service/static/ and are served under /static)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INDEX = STATIC_DIR / "index.html"

router = APIRouter(tags=["demo"])


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def demo_page() -> FileResponse:
    """The demo page."""
    return FileResponse(INDEX, media_type="text/html")
