"""HTML story report: placeholder until the report issue lands (see issue 6)."""

from __future__ import annotations

from ..errors import ExportError


def html_bytes(result) -> bytes:  # pragma: no cover - replaced by the report implementation
    raise ExportError("the HTML report is not built yet")
