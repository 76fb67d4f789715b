"""Which message ids the pages use, and which a catalog lacks.

``python -m koepon.web.i18n_extract`` prints the missing entries of each language as ``.po``
stubs (to paste into ``locales/<lang>/<area>.po``); the test suite fails while any is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir

from koepon.web.i18n import LANGUAGES, load_catalogs, missing

WEB = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def used_ids(root: Path = WEB) -> set[str]:
    ids: set[str] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(root),
        method_map=METHODS,
        options_map=OPTIONS,
        keywords=KEYWORDS,
        comment_tags=(),
        strip_comment_tags=True,
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                ids.add(text)
    return ids


def main() -> int:
    gaps = missing(used_ids(), load_catalogs())
    for language in LANGUAGES:
        for message in gaps[language]:
            escaped = message.replace("\\", "\\\\").replace('"', '\\"')
            print(f'# {language}\nmsgid "{escaped}"\nmsgstr ""\n')
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
