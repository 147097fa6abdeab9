"""The code views read real source, and say where to find it when a build carries no .py files."""

import inspect

import pytest

from qulab_gui.data import database, introspection


def test_a_listing_is_the_function_as_its_module_has_it_with_its_path_and_name() -> None:
    listing = introspection.source_listing("engine", database.create_engine)
    assert listing.location == "qulab_gui/data/database.py · create_engine"
    assert listing.source == inspect.getsource(database.create_engine)


def test_without_the_source_files_the_listing_says_so_and_where_it_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_source(_code: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(introspection.inspect, "getsource", no_source)
    listing = introspection.source_listing("engine", database.create_engine)
    assert listing.source == f"{introspection.NOT_BUNDLED}: see qulab_gui/data/database.py · create_engine"

