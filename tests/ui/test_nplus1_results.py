"""The sentence that explains a joinedload slower than lazy is computed from the measured numbers."""

from qulab_gui.lab import LoadResult
from qulab_gui.ui.pages.nplus1_results import why_slower_than_lazy


def measured(strategy: str, statements: int, ms: float, rows: int) -> LoadResult:
    return LoadResult(strategy=strategy, n=1000, statements=statements, expected=statements,
                      elapsed_s=ms / 1000, rows_fetched=rows, users=1000, scores=5000, assessments=3000)


def test_joined_slower_than_lazy_is_explained_with_the_numbers_and_the_knob() -> None:
    text = why_slower_than_lazy([measured("lazy", 2001, 2322, 9000), measured("selectin", 5, 900, 9000),
                                 measured("joined", 1, 3295, 15000)])
    assert text.startswith("joined took 3,295 ms against lazy's 2,322 ms at N = 1,000: "
                           "it fetched 15,000 rows against lazy's 9,000")
    assert "selectin took" not in text  # selectin was faster: nothing to explain
    assert "cost only 1.16 ms each" in text and "network latency knob" in text


def test_nothing_is_said_when_lazy_is_the_slowest() -> None:
    assert why_slower_than_lazy([measured("lazy", 2001, 2322, 9000), measured("joined", 1, 300, 15000)]) == ""
    assert why_slower_than_lazy([measured("joined", 1, 300, 15000)]) == ""
