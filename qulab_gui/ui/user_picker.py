"""The one user picker: a searchable select of the most recent users, kept in step with the database."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import Lab


class UserPicker:
    """A `ui.select` of users shown as "name <email>"; `refresh()` re-reads them, keeping the choice if it exists."""

    def __init__(self, lab: Lab, *, marker: str, limit: int = 500, label: str = "User") -> None:
        self.lab = lab
        self.limit = limit
        self.select = ui.select({}, label=label, with_input=True).props("outlined dense").mark(marker)
        self.names: dict[str, str] = {}  # user id -> name, of every user seen so far (tables show names)

    @property
    def value(self) -> str | None:
        return self.select.value

    async def refresh(self) -> int:
        """Re-read the users; returns how many there are (0: the page should offer to add some)."""
        people = await self.lab.list_users(self.limit)
        options = {u.id: f"{u.name} <{u.email}>" for u in people}
        self.names.update({u.id: u.name for u in people})
        keep = self.select.value if self.select.value in options else next(iter(options), None)
        self.select.set_options(options, value=keep)
        return len(people)
