"""``envcheck verify``: every installed file checked against its distribution's RECORD.

pip writes a hash and a size for each file of a wheel into ``RECORD`` and never
looks at them again. This module does. It finds the distributions the way the
probe does (same ``sys.path`` order, first copy of a name wins; shadowed copies
are never imported and are not checked), checks every file RECORD lists with a
hash, and reports per distribution

* ``modified``: the size or the hash differs from RECORD;
* ``missing``: RECORD lists the file and it is not there;
* ``added``: a file inside one of the distribution's own top-level directories
  (those its RECORD lists files in, ``__pycache__`` excluded) that no RECORD
  at that location lists;
* ``unchecked``: RECORD gives a hash but the file could not be checked
  (unreadable, not a regular file, an algorithm hashlib does not know);
* ``unverifiable``: no RECORD at all (egg-info, ``.egg``, some system
  packages), or one without a single hash. Never reported as clean.

A distribution that a Debian package installed (its metadata directory is in
one of dpkg's ``/var/lib/dpkg/info/*.list``) is checked against that package's
``md5sums`` instead of RECORD: Debian strips extension modules and moves scripts
after the wheel's RECORD was written (see ``dpkg``).

RECORD lines without a hash (RECORD itself, ``.pyc`` files) are not checked.
Paths are relative to the directory holding the ``.dist-info``; ``../`` lines
(scripts, data files) are resolved from there too.

Speed. Hashing runs on one thread per usable core (hashlib releases the GIL
for buffers over 2 KiB, ``os.read`` always), largest files first so the
biggest starts at once and small ones fill the gaps; large files are read in
1 MiB blocks into one reused buffer per thread, small ones with one
``os.read``. Digests are cached in SQLite (``<data dir>/hash-cache.sqlite3``)
under the file's path, with its size, ``mtime_ns``, ``ctime_ns``, inode and
device: a second run over unchanged files only stats them. A cached digest is
used only while all five match, and a digest is cached only for a file whose
mtime and ctime were at least ``RACY_NS`` older than the run that hashed it,
so a write in the same timestamp tick as the hashing cannot hide (git's "racy
clean" problem; ctime because mtime can be set back, ctime cannot). A cache
that cannot be opened, read or written is a warning, never a failed verify.

A whole distribution's result is kept too (a *memo*), with the stamp of
everything it was computed from: each file checked, each directory listed in
the search for added files, the base directory (a distribution added or
removed changes it), and every metadata directory at the base with its
METADATA and RECORD (a neighbour's RECORD can claim a file), each stamped
before it is read. While every stamp matches, the result stands without
reading RECORD or listing a directory: one ``stat`` per file is all a second
run over an unchanged environment costs. A distribution with missing or
unchecked files, or with anything changed within ``RACY_NS`` of the run, gets
no memo.
The cache is as trustworthy as the directory it lives in: for an audit of a
machine you do not trust, verify with ``cache=None``.

Host-side code (Python 3.9+, standard library only); not part of the probe.

Modules: ``record`` (reading RECORD), ``dpkg`` (Debian's records), ``scan``
(finding distributions and added files), ``hashing`` (every core), ``cache``
(hash cache and memos), ``memo`` (what a memo depends on), ``report`` (the
results), ``pipeline`` (:func:`verify`, the steps in order), ``common``
(constants they share).
"""

from .cache import HashCache, default_cache_path
from .common import BLOCK, RACY_NS
from .pipeline import verify, verify_interpreter
from .report import Modified, PackageResult, Unchecked, VerifyReport

__all__ = [
    "BLOCK",
    "RACY_NS",
    "HashCache",
    "Modified",
    "PackageResult",
    "Unchecked",
    "VerifyReport",
    "default_cache_path",
    "verify",
    "verify_interpreter",
]
