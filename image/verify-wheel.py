"""Check wheels against the sha256 hashes a hash-pinned requirements file gives them.

    python3 image/verify-wheel.py lockfiles/build-requirements.txt wheelhouse/pip-*.whl

Standard library only, Python 3.8+: it runs before pip, which is what would
otherwise check hashes, so a doctored pip wheel never runs. A wheel passes when
its file's sha256 is one of the hashes listed for its own name and version.
"""

import hashlib
import re
import sys

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_hashes(path):
    """(name, version) -> the sha256 hashes the file lists for that pin."""
    hashes = {}
    current = None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            pin = _PIN.match(line)
            if pin:
                current = (normalize(pin.group(1)), pin.group(2))
                hashes.setdefault(current, set())
            elif not line.startswith((" ", "\t")):
                current = None
            if current is not None:
                hashes[current].update(_HASH.findall(line))
    return hashes


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: verify-wheel.py REQUIREMENTS WHEEL...\n")
        return 2
    hashes = pinned_hashes(argv[1])
    for wheel in argv[2:]:
        name, version = wheel.rsplit("/", 1)[-1].split("-")[:2]
        digest = hashlib.sha256()
        with open(wheel, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        allowed = hashes.get((normalize(name), version), set())
        if digest.hexdigest() not in allowed:
            sys.stderr.write("%s: sha256 %s is not what %s pins for %s %s; refusing to run it\n"
                             % (wheel, digest.hexdigest(), argv[1], name, version))
            return 1
        sys.stderr.write("%s: sha256 verified against %s\n" % (wheel, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
