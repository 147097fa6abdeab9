"""One module per lab section; importing a module registers its page with NiceGUI."""


def register(*, classroom: bool = False) -> None:
    # Imported here, not at module level, so the `user` test fixture gets fresh pages every test.
    from . import caching, connectivity, home, models, nplus1, outbox, report  # noqa: F401

    if classroom:
        from . import instructor  # noqa: F401  the sandboxes, for the instructor
