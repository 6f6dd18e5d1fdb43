"""TensorFlow canaries: matmul, ``conv2d`` and ``reduce_sum`` (oneDNN on or off changes
these) and a stateless random stream."""

from __future__ import annotations

from .cpu_numpy import REDUCTION, K, M, N, as_output
from .generator import np_floats
from .runtime import tensorflow_runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

    from .canary import Output


def canaries() -> List[Tuple[str, Callable[[], Output], Any]]:
    import importlib

    import numpy as np

    tf = importlib.import_module("tensorflow")  # untyped: reached through a module object

    a = tf.constant(np_floats(M * K, 1, np.float32).reshape(M, K))
    b = tf.constant(np_floats(K * N, 2, np.float32).reshape(K, N))
    image = tf.constant(np_floats(2 * 33 * 35 * 16, 9, np.float32).reshape(2, 33, 35, 16))
    kernel = tf.constant(np_floats(3 * 3 * 16 * 24, 10, np.float32).reshape(3, 3, 16, 24) / 64)
    long = tf.constant(np_floats(REDUCTION, 3, np.float32))
    # TensorFlow fixes its thread pools at start-up: no one-thread rerun in process.
    return [
        ("tensorflow.matmul_float32", lambda: as_output(tf.linalg.matmul(a, b).numpy()), None),
        ("tensorflow.conv2d_float32", lambda: as_output(
            tf.nn.conv2d(image, kernel, strides=1, padding="SAME").numpy()), None),
        ("tensorflow.reduce_sum_float32", lambda: as_output(tf.reduce_sum(long).numpy()), None),
        ("tensorflow.stateless_normal", lambda: as_output(
            tf.random.stateless_normal([1000], seed=[1, 2]).numpy()), None),
    ]


def runtime() -> Dict[str, Any]:
    import importlib

    return tensorflow_runtime(importlib.import_module("tensorflow"))
