"""Write a pair of catalogs (ja, en) for one page area from a Python dict file.

Usage: python scripts/write-po.py AREA  < pairs.json   (a JSON object: English id → Japanese)
Existing entries of the area are kept; the given ones are added or replaced.
"""

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

area = sys.argv[1]
pairs: dict[str, str] = json.load(sys.stdin)
root = Path(__file__).resolve().parent.parent / "src/koepon/web/locales"
for language in ("ja", "en"):
    path = root / language / f"{area}.po"
    catalog = Catalog(locale=language, project="koepon", fuzzy=False)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    for english, japanese in pairs.items():
        catalog.add(english, japanese if language == "ja" else english)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, width=100)
