"""Responses that hand a document over as a file to save, not a page to show."""

from __future__ import annotations

from litestar import Response


def csv_download(content: str | bytes, filename: str) -> Response[bytes]:
    """A CSV document, in UTF-8, that a browser saves as `filename`."""
    return Response(
        content.encode() if isinstance(content, str) else content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
