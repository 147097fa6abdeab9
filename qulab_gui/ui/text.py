"""Words around numbers, the same on every page: "1 user", "2 users", "1,000 statements"."""

IRREGULAR = {"strategy": "strategies", "entry": "entries", "query": "queries"}


def plural(count: int | float, noun: str) -> str:
    """The count with thousands separators and the noun in the number it needs."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {IRREGULAR.get(noun, noun + 's')}"
