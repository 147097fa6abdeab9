"""Lab 4's Redis read-through cache, one job per module:

    keys.py           key names, outcomes, SCAN/UNLINK over the cache's keys
    codec.py          the JSON shapes of a cached profile and score
    read_through.py   CachedUserRepository: the read path, TTLs, invalidation after commit
    single_flight.py  concurrent misses of one key share one database load
    breaker.py        failing/recovered state and the circuit breaker (fail-open)
    invalidation.py   keys a commit made stale; invalidations remembered during an outage
    counters.py       per-family hit/miss/load counters
    listing.py        the key listing and Redis INFO counters the page shows
"""

from .codec import Json, profile_json, score_json
from .counters import FamilyStats
from .keys import BYPASS, ERROR, FAMILIES, HIT, MISS, PREFIX, PROFILE, SCORE, CacheKeys, key_for
from .listing import CacheEntry, Listing, ServerCounters
from .read_through import CACHE_TIMEOUT_S, REDIS_ERRORS, CachedUserRepository, CachePolicy, Lookup, cache_client

__all__ = [
    "BYPASS", "CACHE_TIMEOUT_S", "ERROR", "FAMILIES", "HIT", "MISS", "PREFIX", "PROFILE", "REDIS_ERRORS", "SCORE",
    "CacheEntry", "CacheKeys", "CachePolicy", "CachedUserRepository", "FamilyStats", "Json", "Listing", "Lookup",
    "ServerCounters", "cache_client", "key_for", "profile_json", "score_json",
]
