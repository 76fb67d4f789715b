"""No page text escapes the catalogs: outside the legal originals, every word a template shows
is inside ``_()`` (or is a name, a unit or a symbol that reads the same in both languages)."""

from __future__ import annotations

import re
from pathlib import Path

from koepon.web.rendering import TEMPLATES

# Names and symbols that are the same in Japanese and English pages.
SAME_IN_BOTH = {
    "こえポン!",
    "こえポン",
    "Koepon",
    "推しメダル",
    "API",
    "日本語",
    "English",
    "OBS",
    "QR",
    "N",
    "R",
    "SR",
    "SSR",
    "UR",
    "No.",
    "JSON",
    "CSV",
    "SVG",
    "ZIP",
    "PNG",
    "ID",
    "URL",
    "SHA-256",
    "bytes",
    "p",
    "x",
    "×",
}
# The Japanese legal originals (an English translation sits beside them in legal/en/).
EXEMPT = ("legal/",)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# A block whose content is a class list (``{% block body_class %}…{% endblock %}``).
CLASS_BLOCK = re.compile(r"\{%\s*block\s+\w*class\s*%\}.*?\{%\s*endblock", re.S)
TAG = re.compile(r"<script[^>]*>.*?</script>|<!--.*?-->|<[^>]*>", re.S)
WORD = re.compile(r"[A-Za-z][\w.'!-]*|[\u3040-\u30ff\u4e00-\u9fff][\u3040-\u30ff\u4e00-\u9fff!]*")


def untranslated(source: str) -> list[str]:
    text = CLASS_BLOCK.sub(" ", source)
    text = JINJA.sub(" ", text)
    text = TAG.sub(" ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return [word for word in WORD.findall(text) if word not in SAME_IN_BOTH]


def test_every_word_a_template_shows_goes_through_the_catalogs() -> None:
    found = {}
    for path in sorted(Path(TEMPLATES).rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(EXEMPT):
            continue
        words = untranslated(path.read_text(encoding="utf-8"))
        if words:
            found[name] = words[:10]
    assert not found, f"text outside _(): {found}"


def test_the_check_sees_hard_coded_text() -> None:
    assert untranslated("<p>ページが見つかりません / Not found</p>") == [
        "ページが見つかりません",
        "Not",
        "found",
    ]
    assert untranslated('<p class="x">{{ _("Not found") }}</p>') == []
