"""Dark mode follows the system until the student picks one; the pick survives moving between labs."""

from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import lab_ready


def theme(user: User) -> bool | None:
    """The page's ui.dark_mode value: None follows the system, True dark, False light."""
    (dark,) = user.find(ui.dark_mode).elements
    return dark.value


def toggle_icon(user: User) -> str:
    (button,) = user.find(marker="theme-toggle").elements
    return button.props["icon"]


async def test_the_theme_follows_the_system_and_the_toggle_cycles_dark_light_auto(user: User) -> None:
    await lab_ready()
    await user.open("/models")
    await user.should_see(marker="theme-toggle", retries=50)
    assert theme(user) is None  # nobody chose yet: the browser's prefers-color-scheme decides
    assert toggle_icon(user) == "brightness_auto"
    seen = []
    for _ in range(3):
        user.find(marker="theme-toggle").click()
        seen.append((theme(user), toggle_icon(user)))
    assert seen == [(True, "dark_mode"), (False, "light_mode"), (None, "brightness_auto")]


async def test_the_chosen_theme_is_kept_across_pages(user: User) -> None:
    await lab_ready()
    await user.open("/caching")
    await user.should_see(marker="theme-toggle", retries=50)
    user.find(marker="theme-toggle").click()
    assert theme(user) is True
    for path in ("/outbox", "/"):
        await user.open(path)
        await user.should_see(marker="theme-toggle", retries=50)
        assert theme(user) is True, path  # a new page, the same choice
        assert toggle_icon(user) == "dark_mode"
    user.find(marker="theme-toggle").click()  # light, and that too is kept
    await user.open("/connectivity")
    await user.should_see(marker="theme-toggle", retries=50)
    assert theme(user) is False
