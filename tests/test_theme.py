"""The message's colours and stylesheet: legible in light and dark mode, usable on a small screen and at 200% zoom."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from adguard_mw.assets import static_dir
from adguard_mw.clients import ClientFacts
from adguard_mw.message import CallToAction, Message, MessageRenderer, Messages, default_message
from adguard_mw.theme import Scheme, Theme, compact, contrast_ratio, stylesheet_source, theme_css

SHIPPED = (static_dir() / "message.css").read_text()


class TestContrast:
    def test_the_ratio_is_wcag_2s(self) -> None:
        assert contrast_ratio("#000", "#ffffff") == pytest.approx(21)
        assert contrast_ratio("#777777", "#777") == pytest.approx(1)
        assert contrast_ratio("#767676", "#fff") == pytest.approx(4.54, abs=0.01)  # the classic lightest grey

    def test_the_default_theme_passes(self) -> None:
        theme = Theme()
        for scheme in (theme.light, theme.dark):
            assert contrast_ratio(scheme.text, scheme.background) >= 4.5
            assert contrast_ratio(scheme.accent_text, scheme.accent) >= 4.5

    @pytest.mark.parametrize(
        ("theme", "message"),
        [
            (
                lambda: Theme(light=Scheme("#ffffff", "#777777", "#0b57d0", "#ffffff")),
                "adguard_mw: theme light text #777777 on background #ffffff has a contrast of 4.47:1; WCAG 2 asks for "
                "at least 4.5:1, so make one darker or lighter",
            ),
            (
                lambda: Theme(dark=Scheme("#1f1f23", "#f2f2f5", "#8ab4f8", "#ffffff")),
                "adguard_mw: theme dark accent_text #ffffff on accent #8ab4f8 has a contrast of 2.10:1",
            ),
        ],
    )
    def test_a_colour_pair_below_4_5_to_1_fails_in_one_line_naming_both_and_the_ratio(
        self, theme: object, message: str
    ) -> None:
        with pytest.raises(ValueError) as error:
            theme()  # type: ignore[operator]
        assert str(error.value).startswith(message) and "\n" not in str(error.value)

    def test_a_ratio_just_below_the_line_is_never_shown_rounded_up(self) -> None:
        assert contrast_ratio("#707972", "#ffffff") == pytest.approx(4.4998, abs=0.0001)
        with pytest.raises(ValueError, match=r"contrast of 4\.49:1"):
            Theme(light=Scheme("#ffffff", "#707972", "#000", "#fff"))

    @pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "rgb(0,0,0)", "#ggg", "", None])
    def test_a_colour_is_hash_rgb_or_hash_rrggbb(self, colour: object) -> None:
        with pytest.raises(ValueError, match=r"^adguard_mw: theme background must be a colour such as '#1d1d1f'"):
            Scheme(colour, "#000", "#000", "#fff")  # type: ignore[arg-type]

    def test_short_colours_are_accepted(self) -> None:
        assert Theme(light=Scheme("#FFF", "#000", "#00e", "#fff")).light.accent == "#00e"


class TestStylesheet:
    def test_the_shipped_file_carries_the_default_theme(self) -> None:
        assert stylesheet_source("__C__", Theme()) == compact(SHIPPED)

    def test_the_served_stylesheet_is_the_shipped_rules_without_comments_or_indentation(self) -> None:
        # It goes inline into every soft message page: a fifth of the file was comments, sent and copied for nobody.
        served = stylesheet_source("__C__", Theme())
        assert "/*" not in served and "\n " not in served and "\n\n" not in served
        assert served.split() == re.sub(r"/\*.*?\*/", "", SHIPPED, flags=re.DOTALL).split()
        assert len(served) < 0.8 * len(SHIPPED)

    def test_the_class_placeholder_is_filled_in_everywhere(self) -> None:
        css = stylesheet_source("zivegu", Theme())
        assert "__C__" not in css and ".zivegu-box" in css and "--zivegu-fg" in css

    def test_a_theme_sets_the_light_colours_and_the_dark_ones_for_dark_mode(self) -> None:
        theme = Theme(
            light=Scheme("#fffdf5", "#222", "#8a1c1c", "#fff"), dark=Scheme("#101010", "#eee", "#f5b7b1", "#101010")
        )
        css = stylesheet_source("c", theme)
        light, dark = css.split("@media (prefers-color-scheme: dark)", 1)
        assert "--c-bg: #fffdf5;" in light and "--c-fg: #222222;" in light and "--c-accent: #8a1c1c;" in light
        assert "--c-bg: #101010;" in dark.split("}")[0] and "--c-accent-fg: #101010;" in dark.split("}")[0]
        assert compact(theme_css(theme)) in stylesheet_source("__C__", theme)

    def test_the_sites_own_stylesheet_comes_after_ours_with_the_class_filled_in(self, tmp_path: Path) -> None:
        (tmp_path / "message.css").write_text(".__C__-title { font-family: Georgia, serif; }\n")
        css = stylesheet_source("zivegu", Theme(), tmp_path)
        assert css.startswith(stylesheet_source("zivegu", Theme()))
        assert css.rstrip().endswith(".zivegu-title { font-family: Georgia, serif; }")

    def test_a_folder_without_a_stylesheet_changes_nothing_and_a_missing_folder_fails(self, tmp_path: Path) -> None:
        assert stylesheet_source("c", Theme(), tmp_path) == stylesheet_source("c", Theme())
        with pytest.raises(ValueError, match=r"^adguard_mw: message folder '.*nowhere' does not exist"):
            stylesheet_source("c", Theme(), tmp_path / "nowhere")


def _blocks(css: str, at_rule: str) -> list[str]:
    """The bodies of every `@media ...` block whose condition contains `at_rule` (one nesting level)."""
    found = []
    for match in re.finditer(r"@media[^{]*" + re.escape(at_rule) + r"[^{]*\{", css):
        depth, start = 1, match.end()
        for index in range(start, len(css)):
            depth += {"{": 1, "}": -1}.get(css[index], 0)
            if depth == 0:
                found.append(css[start:index])
                break
    return found


class TestStyleRules:
    def test_animation_and_transition_happen_only_for_readers_who_have_not_asked_for_less_motion(self) -> None:
        allowed = "".join(_blocks(SHIPPED, "prefers-reduced-motion: no-preference"))
        reduce = "".join(_blocks(SHIPPED, "prefers-reduced-motion: reduce"))
        assert "animation: none !important" in reduce and "transition: none !important" in reduce
        rest = SHIPPED.replace(allowed, "").replace(reduce, "")
        assert not re.search(r"(?<![-\w])(animation|transition)(-[a-z-]+)?\s*:", rest)

    def test_every_focusable_part_has_a_visible_focus_outline(self) -> None:
        assert re.search(
            r"a:focus-visible, [^{]*button:focus-visible, [^{]*summary:focus-visible \{\s*outline: 3px", SHIPPED
        )

    def test_no_text_is_given_a_colour_the_theme_does_not_check(self) -> None:
        colours = re.findall(r"(?<![-\w])color:\s*([^;]+);", SHIPPED)
        assert set(colours) <= {"var(--__C__-fg)", "var(--__C__-accent-fg)"}, colours


# --- In a real browser: the previews at phone width and at 200% zoom, in both schemes ----------------------------

CHROME = ClientFacts("Chrome", "120", "Windows", "desktop")
VIEWPORTS = [(320, 640), (640, 360)]  # a small phone; a 1280x720 window at 200% zoom


def _preview_pages() -> dict[str, str]:
    long_words = "Donaudampfschifffahrtsgesellschaftskapitänsmützenhalterung " * 2
    german = default_message(
        "de",
        body=f"**Danke**, dass Sie {{site}} lesen. [Mehr erfahren](/mehr) {long_words}\n\n- eins\n- zwei",
        ctas=(CallToAction("Jetzt abonnieren und unterstützen", "/abo"), CallToAction("Spenden", "/spenden")),
    )
    renderer = MessageRenderer(Messages({"en": Message(), "de": german}), site_name="Die Laterne")
    css = stylesheet_source("support-note", Theme())
    return {
        mode: renderer.preview_page(mode, kind=None, client=CHROME, locale="de", stylesheet=css)
        for mode in ("notice", "soft", "instructions", "hard")
    }


_TEXT_COLOURS = """
() => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const opaque = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const status = document.querySelector("[data-mode-still]");
  status.textContent = status.getAttribute("data-mode-still");
  const out = [];
  for (const el of document.querySelectorAll(".support-note *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    out.push([el.tagName + "." + el.className, rgb(getComputedStyle(el).color).slice(0, 3), opaque(el)]);
  }
  return out;
}
"""


def _hex(rgb: list[float]) -> str:
    return "#" + "".join(f"{round(v):02x}" for v in rgb)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_in_chromium_every_text_is_legible_nothing_scrolls_sideways_and_motion_can_be_turned_off(
    scheme: str, tmp_path: Path
) -> None:
    executable = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if executable is None:
        pytest.skip("no Chromium executable on PATH")
    from playwright.sync_api import sync_playwright

    pages = _preview_pages()
    for mode, page_html in pages.items():
        (tmp_path / f"{mode}.html").write_text(page_html)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            for mode in pages:
                for width, height in VIEWPORTS:
                    page = browser.new_page(
                        viewport={"width": width, "height": height}, color_scheme=scheme, reduced_motion="reduce"
                    )
                    page.goto((tmp_path / f"{mode}.html").as_uri())
                    where = f"{mode} at {width}px, {scheme}"
                    scroll, client = page.evaluate(
                        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                    )
                    assert scroll <= client, f"{where}: scrolls sideways"
                    box = page.evaluate("document.querySelector('.support-note-box').scrollWidth")
                    assert box <= width, f"{where}: the box is wider than the screen"
                    for element, colour, background in page.evaluate(_TEXT_COLOURS):
                        ratio = contrast_ratio(_hex(colour), _hex(background))
                        assert ratio >= 4.5, f"{where}: {element} {_hex(colour)} on {_hex(background)} is {ratio:.2f}"
                    animation = page.evaluate(
                        f"getComputedStyle(document.querySelector('.support-note-{mode}')).animationName"
                    )
                    assert animation == "none", where
                    page.keyboard.press("Tab")
                    outline = page.evaluate(
                        "(() => { const s = getComputedStyle(document.activeElement); "
                        "return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
                    )
                    assert outline[1] == "solid" and outline[2] == "3px", f"{where}: {outline}"
                    page.close()
            page = browser.new_page(viewport={"width": 1024, "height": 700}, color_scheme=scheme)
            page.goto((tmp_path / "soft.html").as_uri())  # readers who did not ask for less motion: a short fade
            assert (
                page.evaluate("getComputedStyle(document.querySelector('.support-note-soft')).animationName")
                == "support-note-appear"
            )
            page.close()
        finally:
            browser.close()
