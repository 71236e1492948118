"""SQLite's memory statistics are off once a Store has opened, so parallel reads do not queue on them."""

import subprocess
import sys
import textwrap

import pytest

FRESH_PROCESS = textwrap.dedent(
    """
    import ctypes, sqlite3, sys
    from pathlib import Path
    from index.storage.store import Store

    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    Store(Path(sys.argv[1]) / "a.db").close()
    con = sqlite3.connect(Path(sys.argv[1]) / "b.db")
    con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    con.execute("INSERT INTO t VALUES ('harbour ferry')")
    found = con.execute("SELECT count(*) FROM t WHERE t MATCH 'ferry'").fetchone()[0]
    print(found, lib.sqlite3_memory_used())  # 0 in use with a connection open: nothing is counted
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="set only on Linux")
def test_a_process_first_store_turns_the_statistics_off_and_sqlite_still_works(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["1", "0"]
