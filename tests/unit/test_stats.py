"""The percentile is the nearest rank: the ceil(q·n)-th smallest value, values written down by hand."""

from qulab_gui.data.stats import mean, percentile


def test_nearest_rank_on_ten_values() -> None:
    values = [7, 1, 10, 3, 5, 2, 9, 4, 8, 6]  # 1..10, unsorted
    assert percentile(values, 50) == 5  # ceil(5.0) = 5th smallest
    assert percentile(values, 90) == 9  # ceil(9.0) = 9th
    assert percentile(values, 95) == 10  # ceil(9.5) = 10th
    assert percentile(values, 91) == 10  # ceil(9.1) = 10th: at least 91 % at or below
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 10


def test_nearest_rank_takes_the_lower_middle_of_an_even_count() -> None:
    # ceil(0.5 · 4) = 2nd smallest; rounding q·(n−1) = 1.5 would have taken the 3rd (30)
    assert percentile([40, 10, 30, 20], 50) == 20
    assert percentile([40, 10, 30, 20], 75) == 30


def test_no_values_no_percentile_and_no_mean() -> None:
    assert percentile([], 50) is None
    assert mean([]) is None
    assert mean([1, 2, 6]) == 3
