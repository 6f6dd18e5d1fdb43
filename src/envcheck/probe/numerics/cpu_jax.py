"""JAX canaries: ``jnp.dot`` at default precision and a ``jax.random`` stream."""

from __future__ import annotations

from .cpu_numpy import K, M, N, as_output
from .generator import np_floats
from .runtime import jax_runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

    from .canary import Output


def canaries() -> List[Tuple[str, Callable[[], Output], Any]]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    a = jnp.asarray(np_floats(M * K, 1, np.float32).reshape(M, K))
    b = jnp.asarray(np_floats(K * N, 2, np.float32).reshape(K, N))
    # XLA sizes its thread pool at start-up: no one-thread rerun in process.
    return [
        ("jax.dot_float32", lambda: as_output(np.asarray(jnp.dot(a, b))), None),
        ("jax.random_normal", lambda: as_output(
            np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1000,)))), None),
    ]


def runtime() -> Dict[str, Any]:
    import jax

    return jax_runtime(jax)
