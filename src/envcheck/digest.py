"""SHA-256 for the snapshot path, without loading OpenSSL.

``hashlib`` loads OpenSSL's bindings (``_hashlib``) on import: 2 ms of every snapshot,
which digests a few small sections. CPython's own SHA-256 (``_sha2`` from 3.12,
``_sha256`` before) is always built in; where it is not, hashlib's. The values are the
same; only large inputs (verify's files) are faster through OpenSSL, and verify uses
hashlib.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same call and result as hashlib's, for mypy
    from hashlib import sha256
else:
    try:
        from _sha2 import sha256
    except ImportError:  # Python 3.11 and older, or a build without it
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256

__all__ = ["sha256"]
