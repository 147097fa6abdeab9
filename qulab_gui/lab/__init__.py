"""The running application: the one object pages talk to.

`core.Lab` owns the engine, sessions and Redis and answers for labs 1 and 2; each later lab has
its own small section object on it, in a module named like its page:

    lab.nplus1   -> repository.py (lab 3)    lab.caching -> caching.py (lab 4)
    lab.outbox   -> outbox.py (lab 5)

A section only wires a mechanism from `qulab_gui.data` to page-friendly calls.
"""

from .core import Lab, current_lab

__all__ = ["Lab", "current_lab"]
