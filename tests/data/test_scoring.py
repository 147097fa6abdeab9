"""AIR score: the documented formula, its bounds, and an interval that always contains the score."""

import math
import random

import pytest

from qulab_gui.data import scoring
from qulab_gui.data.scoring import AssessmentEvidence, calculate_air

EVIDENCE = [AssessmentEvidence("fluency", 1.0, 20), AssessmentEvidence("domain", 0.0, 20),
            AssessmentEvidence("adaptive", -1.0, 20)]


def test_formula_matches_the_documented_weights() -> None:
    result = calculate_air("15-1252", 10, EVIDENCE)
    fluency, domain, adaptive = 84.1345, 50.0, 15.8655  # 100·Φ(θ) for θ = 1, 0, -1, from a normal table
    v = 0.45 * fluency + 0.35 * domain + 0.20 * adaptive
    h = 88.0
    synergy = v * h / 100 * (1 - abs(v - h) / 200) * 1.0
    expected = (1 - 0.12) * (0.6 * v + 0.4 * h) + 0.12 * synergy
    assert result.vr_score == pytest.approx(v, abs=0.01)
    assert result.hr_score == h
    assert result.synergy_score == pytest.approx(synergy, abs=0.01)
    assert result.air_score == pytest.approx(expected, abs=0.01)


def test_same_inputs_same_score() -> None:
    assert calculate_air("13-2011", 4, EVIDENCE) == calculate_air("13-2011", 4, EVIDENCE)


@pytest.mark.parametrize("years,timing", [(0, 0.8), (10, 1.0), (15, 1.1), (40, 1.2)])
def test_timing_is_clamped(years: int, timing: float) -> None:
    assert scoring.timing_factor(years) == pytest.approx(timing)


def test_more_evidence_narrows_the_interval() -> None:
    few = calculate_air("15-1252", 5, [AssessmentEvidence(e.component, e.ability, 2) for e in EVIDENCE])
    many = calculate_air("15-1252", 5, [AssessmentEvidence(e.component, e.ability, 60) for e in EVIDENCE])
    assert many.ci_upper - many.ci_lower < few.ci_upper - few.ci_lower
    assert many.reliability > few.reliability


def test_spearman_brown_reliability() -> None:
    assert scoring.reliability(0) == 0
    assert scoring.reliability(1) == pytest.approx(0.15)  # one item: the documented item reliability
    assert scoring.reliability(10) == pytest.approx(10 * 0.15 / (1 + 9 * 0.15))


def test_no_assessments_means_population_mean_and_widest_interval() -> None:
    result = calculate_air("47-2111", 10, [])
    assert result.components == {"fluency": 50.0, "domain": 50.0, "adaptive": 50.0}
    assert result.sem == pytest.approx(scoring.SCORE_SD)


def test_incomplete_assessments_are_not_evidence() -> None:
    started = [AssessmentEvidence("fluency", 3.0, 30, completed=False)]
    assert calculate_air("15-1252", 10, started) == calculate_air("15-1252", 10, [])


def test_interval_always_contains_the_score_and_stays_in_range() -> None:
    rng = random.Random(7)  # seeded: a failure here is reproducible
    for _ in range(2000):
        evidence = [AssessmentEvidence(c, rng.uniform(-4, 4), rng.randint(0, 80))
                    for c in ("fluency", "domain", "adaptive") if rng.random() < 0.9]
        result = calculate_air(rng.choice(list(scoring.OCCUPATIONS)), rng.randint(0, 50), evidence)
        assert 0 <= result.ci_lower <= result.air_score <= result.ci_upper <= 100
        assert not math.isnan(result.air_score)


def test_metadata_records_every_parameter() -> None:
    meta = calculate_air("15-1252", 10, EVIDENCE).metadata()
    assert meta["parameter_version"] == scoring.PARAMETER_VERSION
    assert (meta["alpha"], meta["beta"]) == (0.6, 0.12)
    assert set(meta["components"]) == {"fluency", "domain", "adaptive"}


def test_unknown_occupation_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown occupation"):
        calculate_air("99-9999", 1, EVIDENCE)
