"""The local history of snapshots, in SQLite: data in, data out, nothing rendered.

``history`` keeps entries (content-addressed sections, references like
``@prev``) and ``database`` the SQLite underneath (location, busy and corrupt
databases, recovery). What an entry's summary says is the caller's to decide
(``envcheck.history_summary`` judges the change; the store alone only names the
sections that changed).
"""

from ..paths import data_dir
from .database import FILENAME, HistoryCorrupt, default_path, network_filesystem
from .history import STORE_SCHEMA, Entry, History, record_safely, sections_changed

__all__ = [
    "FILENAME", "STORE_SCHEMA", "Entry", "History", "HistoryCorrupt", "data_dir",
    "default_path", "network_filesystem", "record_safely", "sections_changed",
]
