"""What a learner keeps between visits: each lab's guided answers and last results, in one JSON file.

A page shows its last run again after navigation or a restart by reading it back from here, and
the lab report is written from here. The file lives in the learner's workspace (the data dir on the
desktop, the learner's own folder in a classroom), is replaced atomically (write a temporary file,
then rename) and is written off the event loop; a missing or unreadable file is an empty notebook.

Values must be JSON: the lab layer turns its typed results into plain dicts before keeping them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Json = Any  # dict / list / str / number / bool / None, nested
FILE_NAME = "notebook.json"


class Notebook:
    def __init__(self, workspace: Path) -> None:
        self.path = workspace / FILE_NAME
        self._labs: dict[str, dict[str, Json]] = _load(self.path)
        self._write_lock = asyncio.Lock()  # one writer at a time: the newest snapshot is written last

    # -- reading (from memory: cheap enough for every page build) ----------------------------------

    def results(self, lab: str) -> dict[str, Json]:
        """The lab's kept results by name (a copy: changing it changes nothing kept)."""
        return copy.deepcopy(self._labs.get(lab, {}).get("results", {}))

    def answers(self, lab: str) -> dict[str, Json]:
        """The lab's answered guided steps by step id, in the order they were answered."""
        return copy.deepcopy(self._labs.get(lab, {}).get("answers", {}))

    def last_activity(self, lab: str) -> str | None:
        return self._labs.get(lab, {}).get("updated_at")

    def labs(self) -> list[str]:
        """The labs with anything kept, in the order they were first used."""
        return [name for name, kept in self._labs.items() if kept.get("results") or kept.get("answers")]

    # -- writing -------------------------------------------------------------------------------------

    async def keep(self, lab: str, name: str, value: Json) -> None:
        """Keep `value` as the lab's latest `name` (a run, a table, a chart's series), replacing the last."""
        json.dumps(value)  # refuse what could not be written back, before anything changes
        self._section(lab, "results")[name] = copy.deepcopy(value)
        await self._save()

    async def answer(self, lab: str, step: str, record: dict[str, Json]) -> None:
        """Keep a guided step's prediction, the measured value and the verdict (a new answer replaces it)."""
        json.dumps(record)
        answers = self._section(lab, "answers")
        answers.pop(step, None)  # re-answered: it moves to the end, as the latest
        answers[step] = copy.deepcopy(record)
        await self._save()

    async def clear(self, lab: str) -> None:
        """Forget everything kept for one lab (the other labs keep theirs)."""
        if self._labs.pop(lab, None) is not None:
            await self._save()

    async def clear_all(self) -> None:
        self._labs.clear()
        await self._save()

    def _section(self, lab: str, section: str) -> dict[str, Json]:
        kept = self._labs.setdefault(lab, {})
        kept["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return kept.setdefault(section, {})

    async def _save(self) -> None:
        snapshot = json.dumps(self._labs, indent=1, sort_keys=False)  # taken now, in the loop: consistent
        async with self._write_lock:
            try:
                await asyncio.to_thread(_write_atomically, self.path, snapshot)
            except OSError as error:  # a full disk loses the file, not the page: it says so in the log
                log.warning("could not keep results in %s: %s", self.path, error)


def _load(path: Path) -> dict[str, dict[str, Json]]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("starting with an empty notebook: %s could not be read (%s)", path, error)
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)  # a crash mid-write leaves the previous file whole
