"""Python packages as one self-contained script, for an interpreter that has none of them
installed: the modules' sources travel in the script and an import hook serves them from
memory, so they run as the same modules they are in-process.

The probe sends its numeric canaries this way to a child of its own interpreter
(envcheck's remote.py sends the probe itself with a loader of its own, tuned for
start-up time).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List

# Needs globals SOURCES (module name -> source), PACKAGES (names that are packages) and
# ENTRY (the module whose main() runs).
LOADER = '''
import sys
# importlib.machinery's ModuleSpec without importing importlib.abc, which brings in
# importlib.resources: 30 ms of every canary child's start, and explain starts many.
ModuleSpec = type(sys.__spec__)

class _BundledSource:
    def find_spec(self, name, path=None, target=None):
        if name not in SOURCES:
            return None
        return ModuleSpec(name, self, is_package=(name in PACKAGES))

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = compile(SOURCES[module.__name__], "<envcheck %s>" % module.__name__, "exec")
        exec(code, module.__dict__)

    def get_source(self, name):
        return SOURCES[name]

sys.meta_path.insert(0, _BundledSource())
__import__(ENTRY)
sys.exit(sys.modules[ENTRY].main())
'''


def script(sources: Dict[str, str], packages: List[str], entry: str, header: str = "") -> str:
    """A script that runs ``entry``'s ``main()`` with ``sources`` importable."""
    return "%sSOURCES = %r\nPACKAGES = %r\nENTRY = %r\nexec(%r)\n" % (
        header, sources, sorted(packages), entry, LOADER)


def directory_sources(directory: str, package: str) -> Dict[str, str]:
    """Every ``.py`` file under ``directory`` as module name -> source, named as if
    ``directory`` were the package ``package``."""
    sources: Dict[str, str] = {}
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))  # __pycache__
        relative = os.path.relpath(root, directory)
        prefix = package if relative == "." else package + "." + relative.replace(os.sep, ".")
        for name in sorted(files):
            if name.endswith(".py"):
                module = prefix if name == "__init__.py" else prefix + "." + name[:-3]
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    sources[module] = handle.read()
    return sources


def packages_of(sources: Dict[str, str]) -> List[str]:
    """The names in ``sources`` that are packages (some other name lies below them)."""
    return sorted({name.rsplit(".", 1)[0] for name in sources if "." in name} & set(sources))
