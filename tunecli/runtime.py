"""Pick the Keras backend and quiet its start-up, before Keras is first imported."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from tunecli.errors import TuneCliError

DEFAULT_BACKEND = "tensorflow"


def init_backend(name: str | None) -> str:
    """Set ``KERAS_BACKEND`` (from ``name``, the environment, or the default) and return it.

    Raises:
        TuneCliError: when Keras was already imported with another backend.
    """
    chosen = name or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if name and current != name:
            raise TuneCliError(f"Keras already runs on {current}; cannot switch to {name} in this process",
                               field="--backend")
        return current
    os.environ["KERAS_BACKEND"] = chosen
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    return chosen


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence native (C++) log lines written to fd 2 while the backend loads."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():  # noqa: ANN201 - returns the keras module
    """Import Keras (after ``init_backend``), turning a missing backend into a clear error."""
    backend = os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)
    package = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend)
    try:
        with _quiet_native_stderr():
            import keras

            if backend == "tensorflow":
                import tensorflow  # noqa: F401 - its native start-up chatter goes to /dev/null here
    except ImportError as exc:
        raise TuneCliError(f"cannot import Keras with the {backend} backend ({exc}); "
                           f"install it with: pip install {package}", field="--backend") from None
    if backend == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return keras
