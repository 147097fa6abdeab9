"""The running application: the one object pages talk to.

`core.Lab` owns the engine, sessions and Redis and answers for labs 1 and 2; each later lab has
its own small section object on it, in a module named like its page:

    lab.nplus1   -> nplus1.py (lab 3)    lab.caching -> caching.py (lab 4)
    lab.outbox   -> outbox.py (lab 5)

A section only wires a mechanism from `qulab_gui.data` to page-friendly calls; it knows the Lab
through `context.LabContext` and hands pages the typed results of `results.py`.
"""

# What pages need from the data layer, re-exported so that imports point one way: ui -> lab -> data.
from qulab_gui.data.cache import BYPASS, ERROR, HIT, MISS, PROFILE, SCORE, Lookup
from qulab_gui.data.database import PoolSettings
from qulab_gui.data.errors import SimulatedFailure, ValidationError
from qulab_gui.data.introspection import SourceListing, er_diagram
from qulab_gui.data.latency import MAX_MS as MAX_LATENCY_MS
from qulab_gui.data.models import COMPONENTS
from qulab_gui.data.nplus1 import SELECTIN_CHUNK, STRATEGIES, SWEEP_SIZES, SWEPT, LoadResult
from qulab_gui.data.pooling import PoolSnapshot, ProbeResult, probe_form
from qulab_gui.data.score_calculation import RolledBack, ScoreRecorded
from qulab_gui.data.scoring import EDUCATION_LEVELS, OCCUPATIONS
from qulab_gui.data.workload import WorkloadPoint, WorkloadResult, WorkloadSummary

from . import report
from .code import code_that_runs
from .core import Lab
from .current import current_lab
from .kept import CACHING, CONNECTIVITY, MODELS, NPLUS1, OUTBOX
from .results import CacheCounters, CacheHealth, TableCounts

__all__ = [
    "CacheCounters", "CacheHealth", "TableCounts",
    "BYPASS", "COMPONENTS", "EDUCATION_LEVELS", "ERROR", "HIT", "MISS", "OCCUPATIONS", "PROFILE",
    "MAX_LATENCY_MS", "SCORE", "STRATEGIES",
    "SWEEP_SIZES", "SWEPT", "Lab", "LoadResult", "Lookup", "PoolSettings", "PoolSnapshot", "ProbeResult", "probe_form",
    "RolledBack", "SELECTIN_CHUNK", "ScoreRecorded", "SourceListing", "SimulatedFailure", "ValidationError",
    "WorkloadPoint",
    "WorkloadResult", "WorkloadSummary", "CACHING", "CONNECTIVITY", "MODELS", "NPLUS1", "OUTBOX",
    "code_that_runs", "current_lab", "er_diagram", "report",
]
