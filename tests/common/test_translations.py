"""English is complete: every Danish text has an English translation, compiled and current."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
_ENTRY = re.compile(r'^(#,.*\n)?msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', re.MULTILINE)


def _entries() -> list[tuple[str, str, bool]]:
    text = (LOCALE / "django.po").read_text("utf-8")
    entries = []
    for flags, msgid, msgstr in _ENTRY.findall(text + "\n"):
        joined_id = "".join(re.findall(r'"(.*)"', msgid))
        joined_str = "".join(re.findall(r'"(.*)"', msgstr))
        entries.append((joined_id, joined_str, "fuzzy" in (flags or "")))
    return [e for e in entries if e[0]]


def test_every_danish_text_has_an_english_translation() -> None:
    entries = _entries()
    assert len(entries) > 100
    missing = [msgid for msgid, msgstr, _ in entries if not msgstr]
    fuzzy = [msgid for msgid, _, is_fuzzy in entries if is_fuzzy]
    assert missing == [], f"{len(missing)} untranslated, e.g. {missing[:5]}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


def test_the_compiled_catalogue_holds_every_translation_of_the_source() -> None:
    with (LOCALE / "django.mo").open("rb") as f:
        catalogue = gettext.GNUTranslations(f)
    stale = [
        msgid
        for msgid, msgstr, _ in _entries()
        if "\\" not in msgid and catalogue.gettext(msgid) != msgstr
    ]
    assert stale == [], f"django.mo is older than django.po: run compilemessages ({stale[:3]})"


@pytest.mark.parametrize(("danish", "english"), [("Log ind", "Log in"), ("Log ud", "Log out")])
def test_the_english_switch_translates_the_basics(danish: str, english: str) -> None:
    with translation.override("en"):
        assert translation.gettext(danish) == english


def test_the_admin_names_every_part_of_the_system_in_english_too() -> None:
    ours = [c for c in apps.get_app_configs() if c.name.startswith("biblogin.")]
    with translation.override("da"):
        danish = {c.label: str(c.verbose_name) for c in ours}
    with translation.override("en"):
        english = {c.label: str(c.verbose_name) for c in ours}
    assert english["registry"] == "Library registry (VIP)"
    # A name is the same in both languages only where it is a name (the portal's).
    same = sorted(label for label in danish if danish[label] == english[label])
    assert same == ["portal"]
