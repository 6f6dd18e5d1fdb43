"""The local history of snapshots, in SQLite: data in, data out, nothing rendered.

``history`` keeps entries (content-addressed sections, and what changed since the
entry before, as data); ``refs`` reads references like ``@prev``; ``schema`` holds the
tables and migrates older databases; ``connection`` opens, recovers and runs
transactions; ``database`` is the SQLite underneath (location, busy and corrupt
databases). Judging what changed is the caller's (``envcheck.history_summary``);
rendering it is ``envcheck.render.history``'s.
"""

from ..paths import data_dir
from .database import FILENAME, HistoryCorrupt, default_path, network_filesystem
from .history import STORE_SCHEMA, Entry, History, record_safely

__all__ = [
    "FILENAME", "STORE_SCHEMA", "Entry", "History", "HistoryCorrupt", "data_dir",
    "default_path", "network_filesystem", "record_safely",
]
