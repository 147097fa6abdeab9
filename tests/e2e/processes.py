"""Which processes a launched QuLab left behind: its descendants and its process group, via psutil.

Only the end-to-end tests ask this (a closed window must take Qt WebEngine's helpers with it), so
it lives with them rather than in the package.
"""

from __future__ import annotations

import os

import psutil


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone meanwhile, or not ours to look at
        return False


def descendants(pid: int) -> set[int]:
    """Live processes below `pid`, however deep."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return set()
    return {child.pid for child in children if _running(child)}


def process_group(pgid: int) -> set[int]:
    """Live processes in process group `pgid` (`launch()` makes the app a group leader; its children,
    the window and Qt WebEngine, stay in that group even when orphaned). Empty where there are no groups."""
    if not hasattr(os, "getpgid"):
        return set()
    members = set()
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and _running(process):
                members.add(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (zombies count as gone)."""
    living = set()
    for pid in pids:
        try:
            if _running(psutil.Process(pid)):
                living.add(pid)
        except psutil.Error:
            continue
    return living
