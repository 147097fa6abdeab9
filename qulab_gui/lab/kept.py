"""Each lab's last results, kept in the learner's notebook so a page draws them again after
navigation or a restart, and the lab report can print them.

The lab sections call `keep()` right after a run with their typed result and `last()` to get the
same type back. The notebook holds JSON, so a result goes in as `dataclasses.asdict` and comes
back through its type hints: nested dataclasses, lists, tuples, dicts and optionals are rebuilt
from one small generic decoder instead of a hand-written from-dict per result type.
A kept value that no longer fits its type (a notebook written by an older QuLab) reads as
nothing kept, with a warning, never as a broken page.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from typing import Any, TypeVar

from qulab_gui.data.notebook import Json, Notebook

log = logging.getLogger(__name__)
T = TypeVar("T")

# The notebook's name for each lab (also the guided paths' names): one entry per lab, cleared as one.
MODELS, CONNECTIVITY, NPLUS1, CACHING, OUTBOX = "models", "connectivity", "nplus1", "caching", "outbox"
LABS = (MODELS, CONNECTIVITY, NPLUS1, CACHING, OUTBOX)
PLAIN: dict[Any, Any] = {str: str, int: int, float: (int, float), bool: bool}  # a float kept as 2 is 2.0's twin


def to_json(result: Any) -> Json:
    """A result dataclass (or a list of them) as plain JSON values."""
    if isinstance(result, list):
        return [to_json(item) for item in result]
    return dataclasses.asdict(result)


def from_json(kind: Any, value: Json) -> Any:
    """`value` rebuilt as `kind` (a dataclass or a typing hint such as `list[LoadResult]`)."""
    if value is None:
        return None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_json(hints[f.name], value[f.name])
                       for f in dataclasses.fields(kind) if f.init and f.name in value})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return [from_json(args[0], item) for item in value]
    if origin is tuple:
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(from_json(hint, item) for hint, item in zip(items, value, strict=True))
    if origin is dict:
        return {key: from_json(args[1], item) for key, item in value.items()}
    if origin in (typing.Union, types.UnionType):  # X | None: the value is not None here
        return from_json(next(arg for arg in args if arg is not type(None)), value)
    if kind in PLAIN and not isinstance(value, PLAIN[kind]):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value  # str, int, float, bool: JSON has them as they are


async def keep(notebook: Notebook, lab: str, name: str, result: Any) -> None:
    await notebook.keep(lab, name, to_json(result))


def last(notebook: Notebook, lab: str, name: str, kind: type[T] | Any) -> T | None:
    """The lab's kept `name` as `kind`, or None when nothing (usable) is kept."""
    return _decoded(kind, notebook.results(lab).get(name), f"{lab}/{name}")


async def keep_one_of(notebook: Notebook, lab: str, name: str, result: Any) -> None:
    """Keep a result that is one of several types (committed or rolled back) with its type's name."""
    await notebook.keep(lab, name, {"type": type(result).__name__, "value": to_json(result)})


def last_one_of(notebook: Notebook, lab: str, name: str, kinds: tuple[type, ...]) -> Any:
    """What `keep_one_of` kept, as the one of `kinds` it was; None when nothing (usable) is kept."""
    value = notebook.results(lab).get(name)
    kind = {kind.__name__: kind for kind in kinds}.get(value.get("type")) if isinstance(value, dict) else None
    return _decoded(kind, value["value"], f"{lab}/{name}") if kind is not None else None


def _decoded(kind: Any, value: Json, what: str) -> Any:
    try:
        return from_json(kind, value)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as problem:
        log.warning("ignoring the kept %s: it does not fit %s (%s)", what, kind, problem)
        return None
