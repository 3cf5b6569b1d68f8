"""A QR code of an assignment link, as PNG bytes, for a therapist to show or print.

Why segno: pure Python with no dependencies, and it writes PNG itself (no Pillow).
Medium error correction keeps a printed or photographed code readable.
"""

from __future__ import annotations

import io

import segno

__all__ = ["qr_png"]


def qr_png(url: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
