"""Message catalogues (.po, both languages complete) and the CJK font lookup."""

from __future__ import annotations

import re
import shutil
import string
from pathlib import Path

import pytest

from kiosk.errors import FontError
from kiosk.screens import fonts as fonts_mod
from kiosk.screens.fonts import Fonts, find_font_files
from kiosk.screens.i18n import LOCALE_DIR, CatalogueError, load_catalogue, parse_po
from kiosk.screens.view import RETURN_REASONS

ROOT = Path(__file__).resolve().parent.parent
API_ERROR_CODES = [
    "unauthorized",
    "bad_input",
    "validation_error",
    "body_too_large",
    "order_not_found",
    "idempotency_key_required",
    "idempotency_mismatch",
    "bad_credentials",
    "member_not_found",
    "member_code_only",
    "parcel_not_found",
    "wrong_status",
    "door_occupied",
    "not_your_order",
    "package_mismatch",
    "locked_out",
    "forbidden",
    # r2: the kiosk-facing refusals of docs/api.md revision 2
    "code_used",
    "pickup_code_required",
    "lookup_expired",
]
STATUSES = [
    "shipped",
    "arrived",
    "received",
    "overdue",
    "return_requested",
    "return_reviewed",
    "returned_to_warehouse",
    "restocked",
]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_hold_the_same_keys_and_parameters():
    zh, en = load_catalogue("zh-TW"), load_catalogue("en")
    assert set(zh.messages) == set(en.messages)
    assert len(zh.messages) > 100
    for key in zh.messages:
        assert zh.messages[key].strip(), f"empty zh-TW text for {key}"
        assert en.messages[key].strip(), f"empty en text for {key}"
        assert _fields(zh.messages[key]) == _fields(en.messages[key]), key


def test_catalogues_cover_api_errors_statuses_and_reasons():
    for lang in ("zh-TW", "en"):
        cat = load_catalogue(lang)
        for code in API_ERROR_CODES:
            assert f"err.{code}" in cat
        for status in STATUSES:
            assert f"status.{status}" in cat
        for reason in RETURN_REASONS:
            assert f"reason.{reason}" in cat


def test_every_key_the_kiosk_names_is_in_the_catalogues():
    """Keys written as literals in the flow/app (msg.*, err.*) must have texts."""
    zh = load_catalogue("zh-TW")
    used = set()
    for path in [*(ROOT / "kiosk").glob("*.py"), *(ROOT / "kiosk" / "screens").glob("*.py")]:
        used |= set(re.findall(r"[\"']((?:msg|err)\.[a-z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert used, "no keys found"
    assert sorted(k for k in used if k not in zh) == []


def test_chinese_is_the_default_and_english_differs():
    zh, en = load_catalogue("zh-TW"), load_catalogue("en")
    assert zh("btn.confirm") == "確認"
    assert en("btn.confirm") == "Confirm"
    assert zh("orders.count", n=2) == "共 2 件包裹待領取"


def test_missing_key_and_parameter_do_not_crash():
    cat = load_catalogue("en")
    assert cat("no.such.key") == "no.such.key"
    assert "no.such.key" in cat.missing
    assert cat("msg.parcel_mismatch") == "This parcel is not order "  # parameter not given: blank
    assert cat("err.some_new_code") == cat("err.unknown")  # another platform's refusal code


def test_po_parser_handles_multiline_escapes_and_fuzzy():
    text = r"""
# comment
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\n"

msgid "a"
msgstr ""
"first "
"\"second\"\n"

#, fuzzy
msgid "b"
msgstr "not yet"
"""
    assert parse_po(text) == {"a": 'first "second"\n'}


@pytest.mark.parametrize(
    "bad",
    [
        'msgid "a"\n',
        'msgid "a"\nmsgstr "b\n',
        '"floating"\n',
        'msgid "a"\nmsgid_plural "b"\nmsgstr[0] "c"\n',
        'msgid "a"\nmsgstr ""\n',
        'msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n',
        'msgctxt "x"\nmsgid "a"\nmsgstr "b"\n',
    ],
)
def test_po_parser_refuses_broken_files(bad):
    with pytest.raises(CatalogueError, match=r"^x\.po"):
        parse_po(bad, "x.po")


def test_unknown_language_and_missing_dir(tmp_path):
    with pytest.raises(CatalogueError, match="fr"):
        load_catalogue("fr")
    with pytest.raises(CatalogueError, match=r"kiosk\.po"):
        load_catalogue("en", tmp_path)
    assert (LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "kiosk.po").is_file()


# ---- fonts --------------------------------------------------------------------------------------


def test_fontconfig_finds_traditional_chinese_faces():
    files = find_font_files()
    assert Path(files.regular.path).is_file()
    fonts = Fonts(files)
    surf = fonts.text("取件 Pickup", 32, (255, 255, 255))
    assert surf.get_width() > 0
    assert fonts.text("取件 Pickup", 32, (255, 255, 255)) is surf  # cached
    assert fonts.fit("取件服務" * 10, 200, 40) < 40


def test_configured_font_path(tmp_path):
    files = find_font_files()
    fonts = Fonts(find_font_files(files.regular.path))
    assert fonts.size("確認", 30)[0] > 0


def test_configured_missing_font_is_a_clear_error(tmp_path):
    with pytest.raises(FontError, match=r"display\.font: .*nope\.ttf: no such font file"):
        find_font_files(str(tmp_path / "nope.ttf"))


def test_font_without_chinese_is_refused():
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not Path(latin).is_file():
        import pygame

        latin = str(Path(pygame.__file__).parent / "freesansbold.ttf")
    with pytest.raises(FontError, match="no Chinese glyphs"):
        Fonts(find_font_files(latin))


def test_garbage_font_file_is_refused(tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font at all")
    with pytest.raises(FontError, match="cannot load font"):
        Fonts(find_font_files(str(bad)))


def test_no_fontconfig_and_no_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts_mod.shutil, "which", lambda name: None)
    with pytest.raises(FontError, match="no CJK font found"):
        find_font_files()
    assert shutil.which is fonts_mod.shutil.which
