"""Constants the verify modules share: block size, the racy-clean window, open flags."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

# Files under this size are read with one os.read; larger ones in blocks of it.
BLOCK = 1 << 20
# A digest is cached only for files whose mtime and ctime are this much older
# than the run that hashed them: covers 1-2 s timestamp granularity (FAT, HFS+, ext3) and the
# kernel's coarse clock, which lags time.time_ns() by up to a tick.
RACY_NS = 2_000_000_000
# Variable-length digests cannot be compared to a RECORD entry without a length.
_ALGORITHMS = frozenset(hashlib.algorithms_available) - {"shake_128", "shake_256"}
# O_NONBLOCK: a FIFO swapped in between stat and open must not hang a worker.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CACHE_FILE = "hash-cache.sqlite3"
_U63 = 1 << 63
_POSIX = os.sep == "/"
# For stats relative to a directory: O_PATH opens it without reading it (Linux).
_STAT_DIR_FD = os.stat in os.supports_dir_fd and _POSIX
_DIR_FLAGS = (getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
              | getattr(os, "O_CLOEXEC", 0))

Progress = Callable[[int, int], None]
