"""Japanese first, English too: message catalogs per page area, the visitor's language.

Catalogs are gettext ``.po`` files under ``locales/<lang>/<area>.po`` (one file per page area, so
the fan, studio and admin pages grow their own). Message ids are English; the Japanese catalog
translates every one, and the English catalog states every one too (``msgstr`` equal or
reworded), so a test can require a non-empty entry in both for every id the pages use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES: tuple[str, ...] = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
LANGUAGE_COOKIE = "koepon_lang"
LOCALES = Path(__file__).parent / "locales"

_current: ContextVar[str] = ContextVar("koepon_web_language", default=DEFAULT_LANGUAGE)


def load_catalogs(root: Path = LOCALES) -> dict[str, dict[str, str]]:
    """Every language's messages: id → text (empty translations left out)."""
    catalogs: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        messages: dict[str, str] = {}
        for po in sorted((root / language).glob("*.po")):
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            for message in catalog:
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
        catalogs[language] = messages
    return catalogs


CATALOGS = load_catalogs()


def gettext(message: str) -> str:
    """The message in the current visitor's language (the id itself when it has no entry)."""
    return CATALOGS.get(_current.get(), {}).get(message, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return gettext(singular if count == 1 else plural)


def use_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie the language switch set, else the browser's preference, else Japanese."""
    if cookie in LANGUAGES:
        return str(cookie)
    for tag in _preferences(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def _preferences(header: str) -> Iterable[str]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:512].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, index, tag.lower()))
    return [tag for _, _, tag in sorted(weighted)]


def missing(used: Iterable[str], catalogs: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
    """Per language, the ids used by the pages that its catalog does not translate."""
    ids = sorted(set(used))
    return {lang: [i for i in ids if not catalogs.get(lang, {}).get(i)] for lang in LANGUAGES}
