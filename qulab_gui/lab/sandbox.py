"""Where one lab's data lives: the desktop's one sandbox, or a classroom learner's own.

A sandbox names a workspace folder (the notebook of kept results; on SQLite also the database
file), a database (on PostgreSQL one shared database with a schema per learner) and the Redis
names (`qulab:` or `qulab:<learner>:`). Nothing is shared between two learners' sandboxes, so one
learner's reset, faults or workload cannot move another's numbers; and since everything is on
disk or in the servers, a sandbox closed while idle, or by a restart, reopens with its data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from qulab_gui.data.database import PoolSettings
from qulab_gui.data.namespace import SINGLE_USER, RedisNames
from qulab_gui.settings import Settings

LEARNER_ID = re.compile(r"[0-9a-f]{12}")  # safe as a folder, a schema and a Redis key part
LEARNERS_DIR = "learners"
# A classroom opens up to 60 engines on one PostgreSQL (max_connections is often 100): a learner's
# pool keeps one connection between requests and grows to five under load.
LEARNER_POOL = PoolSettings(size=1, max_overflow=4)


def learner_id(browser_id: str) -> str:
    """The short id of a browser (NiceGUI's session id, a UUID): 12 hex digits, enough for one class."""
    digits = browser_id.replace("-", "").lower()[:12]
    if not LEARNER_ID.fullmatch(digits):
        raise ValueError(f"not a browser id: {browser_id!r}")
    return digits


@dataclass(frozen=True)
class Sandbox:
    learner: str | None  # None: the single-user desktop app
    workspace: Path
    database_url: str
    schema: str | None = None  # PostgreSQL only: the learner's own schema
    names: RedisNames = SINGLE_USER
    pool: PoolSettings = field(default_factory=PoolSettings)

    @classmethod
    def single_user(cls, settings: Settings) -> Sandbox:
        return cls(None, settings.data_dir, settings.database_url)

    @classmethod
    def for_learner(cls, settings: Settings, learner: str) -> Sandbox:
        if not LEARNER_ID.fullmatch(learner):
            raise ValueError(f"not a learner id: {learner!r}")
        workspace = settings.data_dir / LEARNERS_DIR / learner
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite":
            database_url = url.set(database=str(workspace / "qulab.db")).render_as_string(hide_password=False)
            return cls(learner, workspace, database_url, names=RedisNames.for_learner(learner), pool=LEARNER_POOL)
        return cls(learner, workspace, settings.database_url, schema=f"qulab_{learner}",
                   names=RedisNames.for_learner(learner), pool=LEARNER_POOL)

    @property
    def label(self) -> str:
        return self.learner or "desktop"


def known_learners(settings: Settings) -> list[str]:
    """The learners who have a sandbox on disk (created by an earlier visit, perhaps before a restart)."""
    folder = settings.data_dir / LEARNERS_DIR
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.is_dir() and LEARNER_ID.fullmatch(path.name))
