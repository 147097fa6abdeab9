"""Entry script of the frozen executable: `build.spec` hands this file to PyInstaller.

It lives outside the `qulab_gui` package on purpose: PyInstaller puts the entry script's folder
on the module search path, and `qulab_gui/` there would make its modules importable a second
time under top-level names (`settings`, `data`, ...).
"""

import multiprocessing

if __name__ == "__main__":
    # The native window runs in a process spawned from this same executable: that process must be
    # handed over to multiprocessing before anything else runs, or it would start a second QuLab.
    multiprocessing.freeze_support()

    from qulab_gui.main import main

    main()
