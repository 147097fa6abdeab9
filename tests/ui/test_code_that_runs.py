"""Each lab shows "The code that runs": the real source of the functions its buttons and timers call."""

import inspect
import textwrap

import pytest
from nicegui import ui
from nicegui.testing import User

from qulab_gui.data import database, pooling, score_calculation
from qulab_gui.data.cache.invalidation import written_keys
from qulab_gui.data.cache.read_through import CachedUserRepository
from qulab_gui.data.outbox.publisher import OutboxPublisher
from qulab_gui.data.unit_of_work import UnitOfWork
from qulab_gui.lab.outbox import OutboxLab
from tests.ui.conftest import lab_ready

# page -> the functions the issue names for it, each with a line only the real body has (so a stub fails)
EXPECTED = {
    "/connectivity": [(database.create_engine, "poolclass=AsyncAdaptedQueuePool"),
                      (pooling.run_probe, "except PoolTimeoutError:")],
    "/caching": [(CachedUserRepository.read, "raw = await self._client.get(key)"),
                 (CachedUserRepository._store, "await self._client.set(key, codec.encode(value), px=ttl_ms)"),
                 (UnitOfWork.commit, "await listener(self)"),
                 (CachedUserRepository._invalidate_written, "if keys := written_keys(uow, self.names):"),
                 (written_keys, "names.key(SCORE, entity.user_id)")],
    "/outbox": [(score_calculation.record_score, "uow.events.add(DomainEvent("),
                (OutboxLab.publish_tick, "self.publisher.drain("),
                (OutboxPublisher._run, "self._publish(batch), self._database_side("),
                (OutboxPublisher.run, "result = await self._through_breaker(max_batches)")],
}


def source_of(function) -> str:
    return textwrap.dedent(inspect.getsource(function)).strip()


@pytest.mark.parametrize("path", EXPECTED)
async def test_the_page_shows_the_real_source_of_the_code_that_runs(user: User, path: str) -> None:
    await lab_ready()
    await user.open(path)
    await user.should_see("The code that runs", retries=50)
    (shown,) = [code.content for code in user.find(ui.code).elements]
    for function, real_line in EXPECTED[path]:
        source = source_of(function)
        assert real_line in source  # the function still does what the page says it does
        location = f"{function.__module__.replace('.', '/')}.py · {function.__qualname__}"
        assert f"# {location}\n{source}\n" in shown + "\n", f"{location} is not shown as it is in its module"


async def test_models_and_repository_show_their_code_with_the_same_view(user: User) -> None:
    from qulab_gui.data import models, nplus1

    await lab_ready()
    await user.open("/models")
    await user.should_see("The models' source code", retries=50)
    (shown,) = [code.content for code in user.find(ui.code).elements]
    assert shown.endswith(source_of(models))
    await user.open("/repository")
    await user.should_see("The four loaders", retries=50)
    shown = "\n".join(code.content for code in user.find(ui.code).elements)  # the loaders and no SQL yet
    for loader in nplus1.LOADERS.values():
        assert source_of(loader) in shown
