"""QR codes for the overlay's odds links, drawn on the server as SVG (a data: URI for <img>,
so no markup built from data ever reaches the page)."""

from __future__ import annotations

import segno


def qr_data_uri(url: str) -> str:
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_data_uri(scale=4, border=2, dark="#0f172a", light="#ffffff"))
