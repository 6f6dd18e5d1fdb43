"""Writing results to files: atomically for regular files, directly for everything else."""

from __future__ import annotations

import errno
import os
import stat

from .errors import OutputError


def write_text(destination: str, text: str) -> None:
    """Write ``text`` to ``destination``.

    A regular file (or a new path) is written to a temporary file beside it and
    renamed into place, so an interrupted write never leaves half a lockfile.
    Anything else that exists (``/dev/null``, a FIFO, ``/dev/stdout``) is
    written in place: renaming over a device would replace it with a file.
    """
    data = text.encode("utf-8")
    destination = os.path.realpath(destination)  # through a symlink, not over it
    try:
        mode = os.stat(destination).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{destination}: cannot write ({exc.strerror})") from exc
    if mode is not None and not stat.S_ISREG(mode):
        try:
            with open(destination, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise OutputError(f"{destination}: cannot write ({exc.strerror})") from exc
        return
    try:
        fd, temporary = _create_temporary(destination)
        try:
            if mode is not None:
                os.fchmod(fd, stat.S_IMODE(mode))  # a 0600 file stays 0600
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, destination)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise OutputError(f"{destination}: cannot write ({exc.strerror})") from exc


def _create_temporary(destination: str) -> tuple[int, str]:
    """A new file beside ``destination``, named so no leftover can block it.

    The PID alone is not enough: a crashed run leaves ``.NAME.PID.tmp`` behind, and in
    a container envcheck is PID 1 every time, so that name would be taken for good.
    """
    directory = os.path.dirname(os.path.abspath(destination))
    for _ in range(100):
        temporary = os.path.join(directory, f".{os.path.basename(destination)}."
                                            f"{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", directory)
