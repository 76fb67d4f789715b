"""Every page in Japanese and English: no message the pages use lacks a translation."""

from __future__ import annotations

from koepon.web import i18n
from koepon.web.i18n_extract import used_ids


def test_every_message_the_pages_use_is_translated_in_both_languages() -> None:
    catalogs = i18n.load_catalogs()
    used = used_ids()
    assert len(used) > 40, "the extraction found (almost) nothing: is it still looking?"
    gaps = i18n.missing(used, catalogs)
    assert gaps == {"ja": [], "en": []}, (
        "untranslated (run `python -m koepon.web.i18n_extract`): "
        + "; ".join(f"{lang}: {ids[:10]}" for lang, ids in gaps.items() if ids)
    )


def test_the_japanese_catalog_really_is_japanese() -> None:
    # An entry copied over untranslated would pass the test above: most messages must differ.
    ja = i18n.load_catalogs()["ja"]
    same = [m for m, text in ja.items() if m == text and any(c.isalpha() for c in m)]
    assert len(same) <= max(5, len(ja) // 20), f"ja entries equal to the English: {same[:20]}"


def test_both_languages_state_the_same_messages() -> None:
    catalogs = i18n.load_catalogs()
    assert set(catalogs["ja"]) == set(catalogs["en"])


def test_the_language_follows_the_switch_then_the_browser_then_japanese() -> None:
    assert i18n.choose_language("en", "ja") == "en"
    assert i18n.choose_language(None, "fr-FR, en;q=0.8, ja;q=0.9") == "ja"
    assert i18n.choose_language(None, "en-GB,en;q=0.9") == "en"
    assert i18n.choose_language("xx", "de") == "ja"
    assert i18n.choose_language(None, "q=;;,,,") == "ja"


def test_no_message_means_two_things_in_two_page_areas() -> None:
    # The areas' catalogs are merged: an id translated differently in two of them would take
    # whichever loaded last, on every page.
    from babel.messages.pofile import read_po

    for language in i18n.LANGUAGES:
        seen: dict[str, tuple[str, str]] = {}
        for po in sorted((i18n.LOCALES / language).glob("*.po")):
            with po.open("rb") as handle:
                for message in read_po(handle, locale=language):
                    if not message.id or not message.string:
                        continue
                    first = seen.setdefault(str(message.id), (po.name, str(message.string)))
                    assert first[1] == message.string, (language, message.id, first, po.name)
