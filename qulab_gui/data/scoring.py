"""The AI-Readiness (AIR) score: pure, deterministic functions, no I/O.

    AIR     = (1 − β)·[α·V + (1 − α)·H] + β·Synergy          α = 0.60, β = 0.12
    Synergy = V·H/100 × alignment × timing                   timing clamped to [0.8, 1.2]
    V       = 0.45·fluency + 0.35·domain + 0.20·adaptive      idiosyncratic readiness (the person)
    H       = opportunity of the occupation                  systematic opportunity (the job)

Each component score is 100·Φ(θ̄): the normal CDF of the mean ability θ of the user's completed
assessments of that component, i.e. the population percentile. A component never assessed counts
as the population mean (50) and adds no evidence.

    alignment = 1 − |V − H| / 200                            in [0.5, 1]: readiness that fits the job
    timing    = clamp(1 + 0.02·(years_experience − 10), 0.8, 1.2)

Uncertainty: each administered item is one piece of evidence with reliability ρ₁ = 0.15.
Spearman–Brown gives the reliability of k items, ρ = k·ρ₁ / (1 + (k − 1)·ρ₁), and the standard
error of measurement SEM = σ·√(1 − ρ) with σ = 15. The 95% interval AIR ± 1.96·SEM is clamped to
[0, 100] and therefore always contains the score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

PARAMETER_VERSION = "air-2026.1"

ALPHA = 0.60
BETA = 0.12
COMPONENT_WEIGHTS = {"fluency": 0.45, "domain": 0.35, "adaptive": 0.20}
TIMING_BOUNDS = (0.8, 1.2)
ITEM_RELIABILITY = 0.15
SCORE_SD = 15.0
Z_95 = 1.959964

# Systematic opportunity (H) per occupation family: how much AI reshapes the work, 0-100.
OCCUPATIONS: dict[str, tuple[str, float]] = {
    "15-1252": ("Software developer", 88.0),
    "15-2051": ("Data scientist", 92.0),
    "13-2011": ("Accountant", 74.0),
    "27-3042": ("Technical writer", 81.0),
    "43-4051": ("Customer service representative", 69.0),
    "29-1141": ("Registered nurse", 46.0),
    "25-2021": ("Elementary school teacher", 52.0),
    "47-2111": ("Electrician", 31.0),
    "53-3032": ("Truck driver", 38.0),
    "11-1021": ("General manager", 63.0),
}
EDUCATION_LEVELS = ("secondary", "vocational", "bachelor", "master", "doctorate")


@dataclass(frozen=True)
class AssessmentEvidence:
    component: str
    ability: float  # theta, logits
    items: int
    completed: bool = True


@dataclass(frozen=True)
class AIRResult:
    air_score: float
    vr_score: float
    hr_score: float
    synergy_score: float
    ci_lower: float
    ci_upper: float
    alignment: float
    timing: float
    evidence_items: int
    reliability: float
    sem: float
    components: dict[str, float]

    def columns(self) -> dict[str, object]:
        """The values an `air_scores` row stores for this result (every writer builds its row from here)."""
        return {
            "air_score": self.air_score, "vr_score": self.vr_score, "hr_score": self.hr_score,
            "synergy_score": self.synergy_score, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "parameter_version": PARAMETER_VERSION, "calculation_metadata": self.metadata(),
        }

    def metadata(self) -> dict[str, object]:
        """What is stored in `calculation_metadata`: every input and parameter needed to recompute."""
        return {
            "parameter_version": PARAMETER_VERSION,
            "alpha": ALPHA,
            "beta": BETA,
            "component_weights": COMPONENT_WEIGHTS,
            "item_reliability": ITEM_RELIABILITY,
            "score_sd": SCORE_SD,
            **{k: v for k, v in asdict(self).items() if k in ("alignment", "timing", "evidence_items",
                                                               "reliability", "sem", "components")},
        }


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def component_scores(evidence: Iterable[AssessmentEvidence]) -> tuple[dict[str, float], int]:
    """Percentile score per component from completed assessments, and the total item count."""
    abilities: dict[str, list[float]] = {name: [] for name in COMPONENT_WEIGHTS}
    items = 0
    for e in evidence:
        if e.completed and e.component in abilities:
            abilities[e.component].append(e.ability)
            items += e.items
    scores = {
        name: 100.0 * normal_cdf(sum(values) / len(values)) if values else 50.0
        for name, values in abilities.items()
    }
    return scores, items


def idiosyncratic_readiness(components: dict[str, float]) -> float:
    return sum(weight * components[name] for name, weight in COMPONENT_WEIGHTS.items())


def systematic_opportunity(occupation_code: str) -> float:
    try:
        return OCCUPATIONS[occupation_code][1]
    except KeyError:
        raise ValueError(f"unknown occupation code {occupation_code!r}") from None


def timing_factor(years_experience: int) -> float:
    return clamp(1.0 + 0.02 * (years_experience - 10), *TIMING_BOUNDS)


def reliability(items: int) -> float:
    """Spearman–Brown: reliability of a test made of `items` items each of reliability ρ₁."""
    if items <= 0:
        return 0.0
    return items * ITEM_RELIABILITY / (1.0 + (items - 1) * ITEM_RELIABILITY)


def calculate_air(
    occupation_code: str, years_experience: int, evidence: Iterable[AssessmentEvidence]
) -> AIRResult:
    components, items = component_scores(evidence)
    v = idiosyncratic_readiness(components)
    h = systematic_opportunity(occupation_code)
    alignment = 1.0 - abs(v - h) / 200.0
    timing = timing_factor(years_experience)
    synergy = v * h / 100.0 * alignment * timing
    air = clamp((1 - BETA) * (ALPHA * v + (1 - ALPHA) * h) + BETA * synergy, 0.0, 100.0)
    rho = reliability(items)
    sem = SCORE_SD * math.sqrt(1.0 - rho)
    return AIRResult(
        air_score=round(air, 2),
        vr_score=round(v, 2),
        hr_score=round(h, 2),
        synergy_score=round(synergy, 2),
        ci_lower=round(clamp(air - Z_95 * sem, 0.0, air), 2),
        ci_upper=round(clamp(air + Z_95 * sem, air, 100.0), 2),
        alignment=round(alignment, 4),
        timing=round(timing, 4),
        evidence_items=items,
        reliability=round(rho, 4),
        sem=round(sem, 3),
        components={k: round(v_, 2) for k, v_ in components.items()},
    )
