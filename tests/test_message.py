"""The editor-owned message: its fields, its languages, its links, and how it is rendered and previewed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import escape

from adguard_mw.clients import ClientFacts
from adguard_mw.message import (
    CallToAction,
    Message,
    MessageRenderer,
    Messages,
    allow_list_steps,
    default_message,
    fill,
)

CHROME = ClientFacts("Chrome", "120", "Windows", "desktop")
FIREFOX = ClientFacts("Firefox", "121", "Linux", "desktop")
SAFARI = ClientFacts("Mobile Safari", "17", "iOS", "mobile")
OTHER = ClientFacts("Other", "", "Other", "other")

# What the middleware passes besides the reader: URLs and names of this deployment, and per-request values.
CONTEXT: dict[str, Any] = {
    "css": "zz",
    "check_url": "/_p/check",
    "stylesheet_url": "/_p/s.css?v=1",
    "message_url": "/_p/m.js?v=1",
    "next": "/news/1",
    "nonce": None,
    "style_nonce": None,
}


def overlay(renderer: MessageRenderer, mode: str = "soft", client: ClientFacts = CHROME, **options: Any) -> str:
    kind = options.pop("kind", "extension")
    return renderer.render("overlay.html", client=client, kind=kind, **{**CONTEXT, "mode": mode, **options})


def wall(renderer: MessageRenderer, **options: Any) -> str:
    context = {**CONTEXT, "mode": "hard", "detector_tag": "", **options}
    return renderer.render("wall.html", client=CHROME, kind=options.pop("kind", "extension"), **context)


def root(page: str) -> str:
    """The message's root element's start tag."""
    match = re.search(r'<div class="zz zz-\w+"[^>]*>', page)
    assert match is not None, page
    return match.group(0)


class TestMessageFields:
    def test_the_defaults_are_polite_english(self) -> None:
        message = Message()
        assert message.title == "Please support {site} by allowing ads"
        assert message.instructions_title == message.steps_heading == "How to allow ads on {site}"
        assert message.body_format == "markdown" and message.logo is None and message.ctas == ()

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"title": ""}, "adguard_mw: message title must be non-empty text, got ''"),
            ({"instructions_title": " "}, "adguard_mw: message instructions_title must be non-empty text"),
            ({"steps_heading": None}, "adguard_mw: message steps_heading must be non-empty text, got None"),
            ({"body_format": "rst"}, "adguard_mw: message body_format must be 'markdown' or 'html', got 'rst'"),
            ({"logo": ""}, "adguard_mw: message logo must be a URL or None"),
            ({"logo": "/logo.svg"}, "adguard_mw: message logo_alt must say what the logo shows"),
            ({"ctas": ("Subscribe",)}, "adguard_mw: message ctas must be CallToAction(label, url) items"),
            (
                {"ctas": (CallToAction("Give", "/a"), CallToAction("Give", "/b"))},
                "adguard_mw: message ctas name 'give' twice; give each a different name",
            ),
        ],
    )
    def test_a_wrong_field_fails_in_one_line(self, fields: dict[str, Any], error: str) -> None:
        with pytest.raises(ValueError) as raised:
            Message(**fields)
        assert str(raised.value).startswith(error) and "\n" not in str(raised.value)

    def test_ctas_given_as_a_list_become_a_tuple(self) -> None:
        message = Message(ctas=[CallToAction("Subscribe", "/subscribe")])  # type: ignore[arg-type]
        assert message.ctas == (CallToAction("Subscribe", "/subscribe"),) and hash(message)

    @pytest.mark.parametrize(
        ("label", "name"),
        [
            ("Subscribe", "subscribe"),
            ("Become a member!", "become-a-member"),
            ("Suscríbete", "suscribete"),
            ("订阅", "cta"),
        ],
    )
    def test_a_call_to_action_is_named_after_its_label_for_the_events(self, label: str, name: str) -> None:
        assert CallToAction(label, "/x").name == name
        assert CallToAction(label, "/x", name="spring-offer").name == "spring-offer"

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (("", "/x"), "adguard_mw: message call to action label must be non-empty text"),
            (("Give", ""), "adguard_mw: message call to action 'Give' needs a url"),
            (
                ("Give", "/x", "Spring Offer"),
                "adguard_mw: message call to action name 'Spring Offer' must be lower-case",
            ),
        ],
    )
    def test_a_wrong_call_to_action_fails_in_one_line(self, args: tuple[str, ...], error: str) -> None:
        with pytest.raises(ValueError, match="^" + re.escape(error)):
            CallToAction(*args)

    def test_default_message_gives_our_translation_with_the_editors_texts_on_top(self) -> None:
        german = default_message("de", title="Unterstützen Sie {site}")
        assert german.title == "Unterstützen Sie {site}" and german.continue_label == "Weiterlesen"
        assert default_message("it") == Message()  # no translation: English


class TestMessages:
    def test_locales_are_language_codes_in_lower_case_and_the_default_comes_first(self) -> None:
        messages = Messages({"fr": default_message("fr"), "EN": Message(), "pt-BR": Message()}, default="en")
        assert list(messages) == ["en", "fr", "pt-br"] and "PT-br" in messages and "de" not in messages

    @pytest.mark.parametrize(
        ("by_locale", "default", "error"),
        [
            ({"en": Message()}, "de", "adguard_mw: message default locale 'de' has no message"),
            ({"english": Message()}, "en", "adguard_mw: message locale 'english' must be a language code"),
            ({"en": "Hello"}, "en", "adguard_mw: message for locale en must be an adguard_mw.Message"),
            ({}, "en", "adguard_mw: message locales must map locale codes to Messages"),
        ],
    )
    def test_a_wrong_set_of_messages_fails_in_one_line(self, by_locale: Any, default: str, error: str) -> None:
        with pytest.raises(ValueError, match="^" + re.escape(error)):
            Messages(by_locale, default=default)

    def test_a_reader_gets_a_language_the_editors_wrote_and_otherwise_the_default(self) -> None:
        german = default_message("de")
        messages = Messages({"en": Message(), "de": german})
        assert messages.choose("de-CH, en;q=0.5") == ("de", german)
        assert messages.choose("fr, es;q=0.9") == ("en", Message())  # we ship French, the editors did not choose it
        assert messages.choose("") == ("en", Message())


class TestAllowListSteps:
    def test_each_browser_family_gets_its_own_steps(self) -> None:
        assert "Brave" in allow_list_steps(CHROME)[0]
        assert "Enhanced Tracking Protection" in allow_list_steps(FIREFOX)[1]
        assert "Content Blockers" in allow_list_steps(SAFARI)[1]
        assert "Extensions menu" in allow_list_steps(OTHER)[0]
        assert "Pi-hole" in allow_list_steps(CHROME, "network")[0]

    def test_the_steps_speak_the_readers_language_and_name_the_button_they_see(self) -> None:
        assert allow_list_steps(FIREFOX, "extension", "de")[-1] == (
            "Kehren Sie hierher zurück und wählen Sie „Ich habe Werbung zugelassen, erneut prüfen“."
        )
        assert "Protection renforcée" not in allow_list_steps(FIREFOX, None, "fr")[1]  # French, sentence case
        assert "protection renforcée contre le pistage" in allow_list_steps(FIREFOX, None, "fr")[1]
        assert "Pi-hole" in allow_list_steps(OTHER, "network", "es")[0]
        assert allow_list_steps(CHROME, None, "en", check_label="Check")[-1] == "Come back here and choose “Check”."

    def test_a_language_without_built_in_steps_gets_english_ones(self) -> None:
        assert allow_list_steps(CHROME, None, "it", check_label="Ricontrolla")[-1] == (
            "Come back here and choose “Ricontrolla”."
        )


class TestLinksAreCheckedAtStartUp:
    @pytest.mark.parametrize(
        ("message", "error"),
        [
            (
                Message(body="Or [subscribe](http://shop.example.com/)"),
                "adguard_mw: message body (locale de) links to 'http://shop.example.com/', which is not allowed: "
                "use https:// and add its host 'shop.example.com' to message.allowed_hosts",
            ),
            (
                Message(network_body="[x](javascript:alert(1))"),
                "adguard_mw: message network_body (locale de) links to 'javascript:alert(1)', which is not allowed: "
                "only https:// addresses",
            ),
            (
                Message(body='<a href="//cdn.example.net/x">x</a>', body_format="html"),
                "adguard_mw: message body (locale de) links to '//cdn.example.net/x'",
            ),
            (
                Message(logo="https://cdn.example.net/logo.svg", logo_alt="The Lantern"),
                "adguard_mw: message logo (locale de) links to 'https://cdn.example.net/logo.svg', which is not "
                "allowed: add its host 'cdn.example.net' to message.allowed_hosts",
            ),
            (
                Message(ctas=(CallToAction("Give", "/give"), CallToAction("Shop", "data:text/html,x"))),
                "adguard_mw: message ctas[1].url (locale de) links to 'data:text/html,x'",
            ),
        ],
    )
    def test_a_link_that_is_not_allowed_fails_in_one_line_naming_locale_field_url_and_fix(
        self, message: Message, error: str
    ) -> None:
        with pytest.raises(ValueError) as raised:
            MessageRenderer(Messages({"en": Message(), "de": message}), site_name="S")
        assert str(raised.value).startswith(error) and "\n" not in str(raised.value)

    def test_listed_hosts_and_paths_on_the_site_are_fine(self) -> None:
        message = Message(
            body="[Shop](https://shop.example.com/) or [read](/about)",
            logo="https://cdn.example.net/logo.svg",
            logo_alt="The Lantern",
            ctas=(CallToAction("Give", "https://give.example.org/now"),),
        )
        MessageRenderer(message, site_name="S", allowed_hosts=("shop.example.com", "cdn.example.net", "*.example.org"))

    def test_extra_messages_are_checked_too(self) -> None:
        with pytest.raises(ValueError, match=r"^adguard_mw: message body \(extra message 2\) links to 'https://x.net'"):
            MessageRenderer(Message(), site_name="S", extra=(Message(), Message(body="<https://x.net>")))


class TestTemplateFolder:
    def test_the_editors_templates_win_over_ours_and_stay_escaped(self, tmp_path: Path) -> None:
        (tmp_path / "panel.html").write_text('<div class="mine" lang="{{ lang }}">{{ text.title }} {{ body }}</div>')
        renderer = MessageRenderer(Message(title="<Support> {site}"), site_name="S", template_dir=tmp_path)
        page = overlay(renderer)
        assert '<div class="mine" lang="en">&lt;Support&gt; S <p>' in page
        assert '<template id="zz-message">' in page  # ours, for what the editors did not override

    def test_a_typo_in_the_editors_template_fails_loudly(self, tmp_path: Path) -> None:
        (tmp_path / "panel.html").write_text("{{ text.titel }}")
        with pytest.raises(jinja2.UndefinedError):
            overlay(MessageRenderer(Message(), site_name="S", template_dir=tmp_path))

    def test_a_missing_folder_fails_in_one_line(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"^adguard_mw: message template_dir '.*nope' does not exist"):
            MessageRenderer(Message(), site_name="S", template_dir=tmp_path / "nope")


LANTERN = MessageRenderer(
    Messages(
        {
            "en": Message(
                body="{site} is **free** to read.\n\n[Why ads?](/about-ads)",
                logo="/static/logo.svg",
                logo_alt="{site} logo",
                ctas=(CallToAction("Subscribe", "/subscribe"), CallToAction("Donate", "https://give.example.org/")),
            ),
            "de": default_message("de", ctas=(CallToAction("Abonnieren", "/subscribe", name="subscribe"),)),
            "fr": default_message("fr"),
        }
    ),
    site_name="The Lantern",
    allowed_hosts=("give.example.org",),
    extra=(Message(title="Variant B", ctas=(CallToAction("Join", "/join"),)),),
)


class TestRendering:
    def test_the_body_is_markdown_and_plain_text_stays_escaped(self) -> None:
        page = overlay(LANTERN)
        assert (
            '<div id="zz-text" class="zz-body"><p>The Lantern is <strong>free</strong> to read.</p>\n'
            '<p><a href="/about-ads" rel="noopener noreferrer">Why ads?</a></p></div>'
        ) in page
        assert "<p>Ads &amp; more &lt;here&gt;</p>" in overlay(
            MessageRenderer(Message(body="Ads & more <here>"), site_name="S")
        )

    def test_network_readers_get_the_network_body(self) -> None:
        assert "filtered by your network" in overlay(MessageRenderer(Message(), site_name="S"), kind="network")

    def test_the_logo_has_its_alt_text(self) -> None:
        assert '<img class="zz-logo" src="/static/logo.svg" alt="The Lantern logo">' in overlay(LANTERN)

    def test_ctas_link_through_the_counting_address_with_their_index_or_else_directly(self) -> None:
        assert LANTERN.cta_targets == (
            ("subscribe", "/subscribe"),
            ("donate", "https://give.example.org/"),
            ("join", "/join"),
        )  # every locale's and every extra message's, the same CTA once
        counted = overlay(LANTERN, cta_url="/_p/go")
        assert '<a class="zz-cta zz-cta-primary" href="/_p/go?to=0" data-cta="subscribe">Subscribe</a>' in counted
        assert '<a class="zz-cta zz-cta-secondary" href="/_p/go?to=1" data-cta="donate">Donate</a>' in counted
        assert 'href="/_p/go?to=0" data-cta="subscribe">Abonnieren</a>' in overlay(
            LANTERN, cta_url="/_p/go", locale="de"
        )
        assert 'href="https://give.example.org/" data-cta="donate">Donate</a>' in overlay(LANTERN)

    def test_the_message_root_and_the_wall_page_carry_the_language(self) -> None:
        assert 'lang="de" dir="ltr"' in root(overlay(LANTERN, locale="de"))
        page = wall(LANTERN, locale="fr")
        assert page.startswith('<!doctype html>\n<html lang="fr" dir="ltr">') and "Soutenez The Lantern" in page
        arabic = MessageRenderer(Messages({"ar": Message()}, default="ar"), site_name="S")
        assert 'lang="ar" dir="rtl"' in root(overlay(arabic))

    def test_the_locale_chooses_the_words_and_the_steps(self) -> None:
        page = overlay(LANTERN, locale="de")
        assert "Bitte unterstützen Sie The Lantern" in page and "Weiterlesen" in page
        assert "<summary>So lassen Sie Werbung auf The Lantern zu</summary>" in page
        assert "Löwen-Symbol" in page

    def test_the_steps_heading_is_the_editors(self) -> None:
        renderer = MessageRenderer(Message(steps_heading="Allow ads on {site}, step by step"), site_name="S")
        assert "<summary>Allow ads on S, step by step</summary>" in overlay(renderer)

    def test_the_instructions_mode_shows_the_steps_open_and_can_be_dismissed(self) -> None:
        page = overlay(LANTERN, mode="instructions")
        assert root(page) == (
            '<div class="zz zz-instructions" data-mode="instructions" role="region" lang="en" dir="ltr" '
            'aria-labelledby="zz-title">'
        )
        assert '<h2 id="zz-title" class="zz-title" tabindex="-1">How to allow ads on The Lantern</h2>' in page
        assert '<ol class="zz-steps">' in page and "<details" not in page
        assert "zz-body" not in page and "zz-cta" not in page  # no appeal: just the steps
        assert page.count('data-mode-action="dismiss"') == 2 and 'data-mode-action="check"' in page

    @pytest.mark.parametrize(
        ("mode", "role"), [("notice", ' role="region"'), ("soft", ' role="dialog" aria-modal="true"'), ("hard", "")]
    )
    def test_each_mode_keeps_its_role(self, mode: str, role: str) -> None:
        page = wall(LANTERN) if mode == "hard" else overlay(LANTERN, mode=mode)
        assert root(page).startswith(f'<div class="zz zz-{mode}" data-mode="{mode}"{role} lang="en"')

    def test_an_unknown_locale_or_a_message_never_given_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"^adguard_mw: message locale 'es' is not configured \(en, de, fr\)"):
            overlay(LANTERN, locale="es")
        with pytest.raises(ValueError, match=r"^adguard_mw: message was not given to the renderer"):
            overlay(LANTERN, message=Message(title="Surprise"))

    def test_an_extra_message_is_shown_in_the_locale_asked_for(self) -> None:
        page = overlay(LANTERN, message=Message(title="Variant B", ctas=(CallToAction("Join", "/join"),)), locale="de")
        assert ">Variant B</h2>" in page and 'lang="de"' in page and "Löwen-Symbol" in page


class TestRenderCache:
    def count_renders(self, monkeypatch: pytest.MonkeyPatch, renderer: MessageRenderer) -> list[str]:
        calls: list[str] = []
        real = renderer._env.get_template

        def counting(name: str, *args: Any) -> jinja2.Template:
            if name == "overlay.html":  # not the panel.html it includes
                calls.append(name)
            return real(name, *args)

        monkeypatch.setattr(renderer._env, "get_template", counting)
        return calls

    def test_a_message_is_rendered_once_per_kind_of_reader_locale_and_message(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        renderer = MessageRenderer(
            Messages({"en": Message(), "de": default_message("de")}), site_name="S", extra=(Message(title="B"),)
        )
        calls = self.count_renders(monkeypatch, renderer)
        for path in ("/a", "/b", "/c"):
            overlay(renderer, next=path)
            overlay(renderer, next=path, client=ClientFacts("Chromium", "120", "Linux", "desktop"))  # same steps
        assert len(calls) == 1
        overlay(renderer, locale="de")
        overlay(renderer, message=Message(title="B"))
        overlay(renderer, client=FIREFOX)
        overlay(renderer, kind="network")
        assert len(calls) == 5

    def test_per_request_values_are_filled_in_escaped(self) -> None:
        renderer = MessageRenderer(Message(), site_name="S")
        overlay(renderer, next="/first")
        page = overlay(renderer, next='/"><script>x</script>', nonce="n0nce")
        assert 'value="/&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in page and 'nonce="n0nce"' in page
        assert "@@adguard-mw" not in page and "/first" not in page

    @pytest.mark.parametrize("value", ["/news/1", "/a&b", "/<i>", '/"q"', "/it's", "/caf\u00e9", "/a%20b"])
    def test_a_filled_in_value_reads_as_the_template_would_have_written_it(self, value: str) -> None:
        parts = (b'<input name="next" value="', b"next", b'">')
        assert fill(parts, {"next": value}, b"<tag>") == f'<tag><input name="next" value="{escape(value)}">'.encode()


STYLESHEET = ".support-note-box { color: red; } /* </style><b>not markup</b> */"


class TestPreview:
    @pytest.mark.parametrize("mode", ["notice", "soft", "instructions"])
    def test_a_preview_is_one_page_with_the_message_over_a_sample_article_and_no_scripts(self, mode: str) -> None:
        page = LANTERN.preview_page(mode, kind=None, client=CHROME, stylesheet=STYLESHEET)
        assert page.startswith("<!doctype html>") and "<article>" in page and "Sample article" in page
        assert f'<div class="support-note support-note-{mode}" data-mode="{mode}"' in page  # in the page itself
        assert "<template" not in page and "<script" not in page and 'rel="stylesheet"' not in page
        assert "</style><b>" not in page  # the stylesheet cannot end its <style> element
        assert "<style>.support-note-box { color: red; } /* <\\/style><b>not markup<\\/b> */</style>" in page

    def test_the_hard_preview_is_the_wall_page(self) -> None:
        page = LANTERN.preview_page("hard", kind=None, client=CHROME, locale="de", stylesheet=STYLESHEET)
        assert page.startswith('<!doctype html>\n<html lang="de"') and '<body class="support-note-page">' in page
        assert "<h1" in page and '<details class="support-note-steps" open>' in page
        assert "<script" not in page and "<style>.support-note-box" in page

    def test_a_preview_can_show_any_message_kind_and_class(self) -> None:
        variant = Message(title="Variant B", ctas=(CallToAction("Join", "/join"),))
        page = LANTERN.preview_page(
            "soft", kind="network", client=OTHER, message=variant, stylesheet="", css_class="msg"
        )
        assert (
            ">Variant B</h2>" in page
            and "Pi-hole" in page
            and 'href="/join"' in page
            and 'class="msg msg-soft"' in page
        )

    def test_an_unknown_mode_is_refused(self) -> None:
        with pytest.raises(
            ValueError, match=r"^adguard_mw: preview mode must be one of notice, soft, instructions, hard"
        ):
            LANTERN.preview_page("observe", kind=None, client=CHROME, stylesheet="")

    def test_an_editors_wall_template_gets_a_stylesheet_that_works_from_disk(self, tmp_path: Path) -> None:
        (tmp_path / "wall.html").write_text(
            '<link rel="stylesheet" href="{{ stylesheet_url }}">{% include "panel.html" %}'
        )
        renderer = MessageRenderer(Message(), site_name="S", template_dir=tmp_path)
        page = renderer.preview_page("hard", kind=None, client=CHROME, stylesheet="p { color: red }")
        assert '<link rel="stylesheet" href="data:text/css;base64,cCB7IGNvbG9yOiByZWQgfQ==">' in page


@pytest.mark.parametrize(
    ("user_agent", "brands", "first_step"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
            "Safari/537.36",
            '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
            "Click the Brave Shields icon (the lion)",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile "
            "Safari/537.36",
            "",
            "If your browser blocks ads itself",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
            "Chrome/122.0 Mobile Safari/537.36",
            "",
            "If your browser blocks ads itself",
        ),
    ],
    ids=["brave-by-its-client-hint", "chrome-on-android-has-no-extensions", "samsung-internet"],
)
def test_brave_and_phones_get_their_own_steps(user_agent: str, brands: str, first_step: str) -> None:
    from adguard_mw.clients import describe_client

    for locale in ("en", "de", "fr", "es"):
        steps = allow_list_steps(describe_client(user_agent, brands), "extension", locale)
        assert len(steps) == 3 and "{check}" not in steps[-1]
    assert allow_list_steps(describe_client(user_agent, brands), "extension", "en")[0].startswith(first_step)
