"""The JSON shapes cached for a profile and a latest score, and their encoding."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..models import AIRScore, User

Json = dict[str, Any]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def profile_json(user: User) -> Json:
    return {"id": user.id, "email": user.email, "name": user.name, "occupation_code": user.occupation_code,
            "education_level": user.education_level, "years_experience": user.years_experience,
            "updated_at": _iso(user.updated_at)}


def score_json(score: AIRScore) -> Json:
    return {"id": score.id, "user_id": score.user_id, "air_score": score.air_score, "vr_score": score.vr_score,
            "hr_score": score.hr_score, "synergy_score": score.synergy_score, "ci_lower": score.ci_lower,
            "ci_upper": score.ci_upper, "parameter_version": score.parameter_version,
            "created_at": _iso(score.created_at)}


def encode(value: Json | None) -> str:
    """Compact JSON; `None` ("no such user / no score yet") is stored as `null` (negative caching)."""
    return json.dumps(value, separators=(",", ":"))


def decode(raw: str) -> Json | None:
    return json.loads(raw)
