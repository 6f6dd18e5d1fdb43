"""Limit a framework to one thread for a moment, to see whether its bits depend on threads.

threadpoolctl (the well-kept library for this) when the target environment has
it; otherwise OpenBLAS's own ``*_set_num_threads`` through ctypes, found in the
libraries this process has mapped. ``None`` where no limit can be set at run
time (TensorFlow and XLA fix their thread pools when they start).
"""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, ContextManager, Iterator, List, Optional

# OpenBLAS builds prefix or suffix their symbols (numpy's scipy-openblas: 64_).
_OPENBLAS_SYMBOLS = ("openblas_set_num_threads", "openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads")
_GET = {"openblas_set_num_threads": "openblas_get_num_threads",
        "openblas_set_num_threads64_": "openblas_get_num_threads64_",
        "scipy_openblas_set_num_threads64_": "scipy_openblas_get_num_threads64_",
        "scipy_openblas_set_num_threads": "scipy_openblas_get_num_threads"}


def mapped_libraries() -> List[str]:
    """Paths of the shared libraries mapped into this process (Linux), in load order."""
    seen: List[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split(None, 5)
                if len(parts) == 6 and ".so" in parts[5] and parts[5].strip() not in seen:
                    seen.append(parts[5].strip())
    except OSError:
        pass
    return seen


def openblas_handles() -> List[Any]:
    """(library, setter, getter) for every OpenBLAS mapped here."""
    import ctypes

    found = []
    for path in mapped_libraries():
        if "openblas" not in path.rsplit("/", 1)[-1].lower():
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _OPENBLAS_SYMBOLS:
            setter = getattr(library, name, None)
            getter = getattr(library, _GET[name], None)
            if setter is not None and getter is not None:
                found.append((library, setter, getter))
                break
    return found


@contextlib.contextmanager
def _openblas_one_thread() -> Iterator[None]:
    handles = openblas_handles()
    before = [getter() for _, _, getter in handles]
    for _, setter, _ in handles:
        setter(1)
    try:
        yield
    finally:
        for (_, setter, _), count in zip(handles, before):
            setter(count)


def blas_limiter() -> Optional[Callable[[], ContextManager[Any]]]:
    """One thread for every BLAS and OpenMP pool loaded here (numpy's canaries)."""
    import importlib

    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return _openblas_one_thread if openblas_handles() else None
    return lambda: threadpoolctl.threadpool_limits(limits=1)


def torch_limiter(torch: Any) -> Callable[[], ContextManager[Any]]:
    @contextlib.contextmanager
    def one_thread() -> Iterator[None]:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return one_thread
