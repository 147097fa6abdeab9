"""The note on a cached p95 above the database p95 is computed from the run and names the real cause."""

from qulab_gui.data.workload import WorkloadSpec
from qulab_gui.lab import WorkloadPoint, WorkloadResult, WorkloadSummary
from qulab_gui.ui.pages.caching_workload import tail_note


def run(cached_p95: float, database_p95: float, hits: int, misses: int) -> WorkloadSummary:
    result = WorkloadResult(WorkloadSpec(reads=hits + misses), users=50, hit_s=[0.0002] * hits,
                            miss_s=[0.004] * misses, cached_s=[0.0002] * hits + [0.004] * misses,
                            database_s=[0.001] * (hits + misses))
    result.points.append(WorkloadPoint(hits + misses, hits / (hits + misses), 0.2, cached_p95, 0.9, database_p95))
    return result.summary()  # what the page shows, fresh or kept


def test_a_p95_that_is_a_miss_says_so_with_the_miss_share() -> None:
    text = tail_note(run(4.1, 1.2, hits=350, misses=50), "fakeredis", "sqlite")
    assert text.startswith("The cached p95 (4.100 ms) is above the database p95 (1.200 ms) in this run.")
    assert "12.5% of the cached-path reads were misses" in text and "4.000 ms on average" in text


def test_a_tail_of_hits_points_to_the_embedded_backends_and_the_latency_knob() -> None:
    text = tail_note(run(9.0, 6.0, hits=990, misses=10), "fakeredis", "sqlite")
    assert "Only 1.0% were misses" in text and "fakeredis and sqlite" in text
    assert "network latency knob" in text


def test_nothing_is_said_when_the_cache_is_faster_at_the_tail() -> None:
    assert tail_note(run(0.5, 1.2, hits=990, misses=10), "fakeredis", "sqlite") == ""
