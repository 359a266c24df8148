"""Keep the garbage collector off what the app holds for a long time: the estate on screen.

A hundred nodes are some 8,000 certificate rows, their merged views and table cells: a few
hundred thousand objects that live until the next scan. CPython's full collections walk every
one of them, and Textual allocates fast enough while a renewal streams its transcript that full
collections came every second or so and paused the app for 100-400 ms each (bench/tui.py, gc
callbacks): most of the key-to-screen p95. :func:`settle` collects once and then moves what
survived into the permanent generation (`gc.freeze`), so later collections walk only what is new.
It is called when a scan has been put on screen; the previous scan's frozen objects are thawed
first so that they can be freed.
"""

from __future__ import annotations

import gc

__all__ = ["AFTER", "settle"]

#: Seconds after a scan is put on screen: its first frame and the detail pane come first.
AFTER = 1.0


def settle() -> None:
    """Collect everything, then exempt the survivors from future collections (see the module docstring)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
