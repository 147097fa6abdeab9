"""Dark mode in a real Chromium: a browser that asks for dark gets it, and the light helper classes stay legible."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from qulab_gui.bench import launcher
from tests.e2e.conftest import VIEWPORT, Tab
from tests.pages import PAGES

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect


@pytest.fixture
def dark_tab(browser, served: launcher.RunningApp) -> Iterator[Tab]:
    """A tab whose system setting is dark (prefers-color-scheme: dark), as on a laptop set to dark."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    context.set_default_timeout(20_000)
    try:
        yield Tab(context.new_page(), served.url)
    finally:
        context.close()


def luminance(css_color: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed `rgb(...)`/`rgba(...)` colour."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", css_color)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two colours (4.5 is the minimum for body text)."""
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def computed(tab: Tab, selector: str, prop: str) -> str:
    return tab.page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}")


def test_a_dark_system_gets_a_dark_readable_page_and_the_toggle_overrides_it(
        dark_tab: Tab, served: launcher.RunningApp) -> None:
    tab, page = dark_tab, dark_tab.page
    tab.open("/repository", PAGES["/repository"])
    body = page.locator("body")
    expect(body).to_have_class(re.compile(r"\bbody--dark\b"))  # nobody chose: the system's dark wins
    page_background = computed(tab, "body", "backgroundColor")
    assert luminance(page_background) < 0.05
    drawer = computed(tab, ".q-drawer", "backgroundColor")
    assert luminance(drawer) < 0.05, f"the drawer stays light ({drawer}) under the dark theme's white text"
    drawer_text = computed(tab, ".q-drawer .q-item__label", "color")
    assert contrast(drawer_text, drawer) >= 4.5
    caption = computed(tab, ".text-grey-8", "color")  # the pages' captions
    assert contrast(caption, page_background) >= 4.5, f"captions ({caption}) fade into the dark page"
    page.get_by_text("The four loaders: the code that runs").click()  # the code, highlighted for dark
    expect(page.get_by_text("async def load_selectin").first).to_be_visible()
    page.wait_for_timeout(1000)  # let the chart draw for the screenshot
    tab.screenshot(served.label, "dark-repository")
    tab.open("/models", PAGES["/models"])
    page.wait_for_timeout(1500)  # the ER diagram
    tab.screenshot(served.label, "dark-models")

    page.get_by_role("button", name=re.compile("^Theme")).click()  # auto -> dark: still dark
    page.get_by_role("button", name=re.compile("^Theme")).click()  # dark -> light
    expect(body).not_to_have_class(re.compile(r"\bbody--dark\b"))
    tab.open("/caching", PAGES["/caching"])  # the choice outlives the page
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bbody--dark\b"))
    tab.assert_clean()
