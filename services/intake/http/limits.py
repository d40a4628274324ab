"""Refusing an upload that declares more bytes than allowed, before it is read at all.

FastAPI parses (and spools to disk) a multipart body before any route code runs, so the
size check on the file itself comes after the whole upload was received. An upload whose
``Content-Length`` already says it is too large is answered 413 at once instead. Uploads
without a length (chunked) still meet the size check on the file.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.intake.http.problems import MEDIA_TYPE, PROBLEM_TYPE_PREFIX

# Room for the multipart boundaries and the small form fields next to the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class UploadSizeLimit:
    """ASGI middleware: 413 problem+json for uploads whose Content-Length is too large."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._too_large(scope):
            detail = (
                f"The upload declares more than the limit of {self.max_bytes} bytes per "
                "document; send a smaller file."
            )
            body = {
                "type": f"{PROBLEM_TYPE_PREFIX}too_large",
                "title": "Too large",
                "status": 413,
                "detail": detail,
                "instance": scope["path"],
                "errors": [{"code": "too_large", "message": detail}],
            }
            await JSONResponse(body, status_code=413, media_type=MEDIA_TYPE)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _too_large(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        if not scope["path"].endswith("/documents"):
            return False
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                return int(value) > self.max_bytes + MULTIPART_OVERHEAD_BYTES
        return False
