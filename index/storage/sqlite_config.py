"""SQLite's process-wide configuration, set once before the first connection opens.

SQLite keeps memory statistics by default (SQLITE_CONFIG_MEMSTATUS), and keeping them takes one
process-wide mutex around every allocation. FTS5 allocates for every row it ranks, so questions on
parallel threads queued on that mutex even with the GIL released. On the 1M-passage corpus of
bench/scale.py (2 cores) 4 threads answered 1.40x as many questions as one with the statistics kept,
1.69x without (the BM25 query alone: 1.38x and 1.75x).

Python's sqlite3 module has no way to set it, so it is set through the C API of the shared library
the module uses, and only while SQLite holds no memory at all (no connection is open: configuring
means shutting the library down and starting it again). On other systems (where the module may link
its own copy, or a variadic C call cannot be made this way) or when the library is not found, it
stays as it was: slower in parallel, as correct.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sqlite3
import sys

log = logging.getLogger(__name__)

_CONFIG_MEMSTATUS = 9  # SQLITE_CONFIG_MEMSTATUS, from sqlite3.h
_done = False


def stop_memory_statistics() -> bool:
    """Turn SQLite's memory statistics off for this process if nothing of SQLite's is in use yet;
    whether they are off. Cheap once done: every new `Store` calls it."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return False
    lib.sqlite3_libversion.restype = ctypes.c_char_p
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    if lib.sqlite3_libversion().decode() != sqlite3.sqlite_version:
        return False  # not the module's library
    probe = sqlite3.connect(":memory:")
    counted = lib.sqlite3_memory_used() > 0
    probe.close()
    if not counted:  # off already (a build without them), or not this library's connections
        _done = True
        return True
    if lib.sqlite3_memory_used():
        return False  # a connection is open: shutting the library down now would break it
    stopped = lib.sqlite3_shutdown() == 0 and lib.sqlite3_config(_CONFIG_MEMSTATUS, ctypes.c_int(0)) == 0
    lib.sqlite3_initialize()
    _done = stopped
    log.debug("SQLite memory statistics %s", "off" if stopped else "left on")
    return stopped
