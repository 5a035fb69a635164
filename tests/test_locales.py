"""Languages: which of the editors' locales a reader gets from Accept-Language, and the translations we ship."""

from __future__ import annotations

import time
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adguard_mw import locales
from adguard_mw.locales import negotiate, preferences
from adguard_mw.message import Message

CONFIGURED = ("en", "de", "fr", "pt-br")


class TestAcceptLanguage:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("de", "de"),
            ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
            ("en;q=0.5, de;q=0.9", "de"),  # q-values rank, not the order written
            ("de-CH", "de"),  # a region falls back to its language
            ("de-CH-1996", "de"),
            ("pt", "pt-br"),  # a language matches the editors' regional variant of it
            ("PT-br", "pt-br"),  # case does not matter
            ("it, fr;q=0.5", "fr"),  # a language the editors did not write is passed over
            ("it", "en"),  # nothing in common: the default
            ("de;q=0, fr;q=0.1", "fr"),  # q=0 means "not this one"
            ("de-at, de;q=0, fr;q=0.1", "fr"),  # and excludes its regional variants too
            ("*", "en"),  # any language: the default
            ("it, *;q=0.5", "en"),
            ("en;q=0, *", "de"),  # any language but English: the first other one we have
            ("fr;q=0.8, de;q=0.8", "fr"),  # a tie keeps the reader's order
            ("", "en"),
        ],
    )
    def test_the_reader_gets_their_most_preferred_configured_locale(self, header: str, expected: str) -> None:
        assert negotiate(header, CONFIGURED, "en") == expected

    @pytest.mark.parametrize(
        "header",
        ["garbage!!", "de;q=2", "de;q=-1", "de;q=abc", "de;level=1", ";;;", "d e", "de;q=0.5x", "12-34", "\x00de"],
    )
    def test_a_malformed_entry_is_ignored_and_a_header_of_nothing_else_gives_the_default(self, header: str) -> None:
        assert negotiate(header, CONFIGURED, "en") == "en"
        assert negotiate(f"{header}, fr;q=0.4", CONFIGURED, "en") == "fr"  # a good entry beside it still counts

    def test_preferences_are_ranked_with_their_quality(self) -> None:
        assert preferences("da, en-gb;q=0.8, en;q=0.7") == [("da", 1.0), ("en-gb", 0.8), ("en", 0.7)]
        assert preferences("de ; q = 0.5") == [("de", 0.5)]

    def test_only_the_first_entries_of_a_long_header_are_read_and_it_takes_no_time(self) -> None:
        header = ", ".join(["xx"] * 40 + ["de"])
        assert negotiate(header, CONFIGURED, "en") == "en"  # the 41st entry is never looked at
        hostile = "de-" + "a" * 1_000_000 + ";q=0.5," * 100_000
        started = time.thread_time()  # this thread's CPU time: a busy machine stretches the wall clock, not this
        assert negotiate(hostile, CONFIGURED, "en") == "en"
        assert time.thread_time() - started < 0.05

    @given(st.text(max_size=300))
    def test_any_header_gives_a_configured_locale_and_never_fails(self, header: str) -> None:
        assert negotiate(header, CONFIGURED, "en") in CONFIGURED


class TestDirection:
    @pytest.mark.parametrize(("locale", "expected"), [("ar", "rtl"), ("he-il", "rtl"), ("fa", "rtl"), ("de", "ltr")])
    def test_right_to_left_languages_are_marked(self, locale: str, expected: str) -> None:
        assert locales.direction(locale) == expected


TEXT_FIELDS = [f.name for f in fields(Message) if f.type == "str" and f.name not in ("body_format", "logo_alt")]


class TestTranslations:
    def test_german_french_and_spanish_are_shipped(self) -> None:
        assert {"de", "fr", "es"} <= set(locales.TEXTS) and {"en", "de", "fr", "es"} <= set(locales.STEPS)

    @pytest.mark.parametrize("locale", sorted(locales.TEXTS))
    def test_every_default_text_is_translated_and_keeps_its_placeholders(self, locale: str) -> None:
        texts = locales.TEXTS[locale]
        assert sorted(texts) == sorted(TEXT_FIELDS)
        english = Message()
        for key, text in texts.items():
            assert ("{site}" in text) == ("{site}" in getattr(english, key)), (locale, key)
            assert text.strip() == text and "  " not in text, (locale, key)
        Message(**texts)  # and they make a valid message

    @pytest.mark.parametrize("locale", sorted(locales.STEPS))
    def test_every_browser_family_has_steps_that_end_with_the_check_again_button(self, locale: str) -> None:
        steps = locales.STEPS[locale]
        assert sorted(steps) == sorted(locales.STEPS["en"])
        for family, family_steps in steps.items():
            assert 2 <= len(family_steps) <= 4, (locale, family)
            assert "{check}" in family_steps[-1], (locale, family)
            assert all("{check}" not in step for step in family_steps[:-1]), (locale, family)

    def test_a_regional_locale_uses_its_language_and_an_unknown_one_english(self) -> None:
        assert locales.steps("de-at") is locales.STEPS["de"]
        assert locales.steps("it") is locales.STEPS["en"] and locales.steps(None) is locales.STEPS["en"]
        assert locales.default_texts("fr-ca") == locales.TEXTS["fr"] and locales.default_texts("en") == {}
