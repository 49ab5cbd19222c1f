"""Pick the Keras backend and quiet its start-up, before Keras is first imported."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

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
    configure_xla()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    return chosen


#: XLA:CPU compiles a small training step about a third faster without the new fusion emitters, and
#: runs it as fast (measured on jaxlib 0.10; the flag is only set where it is known to exist).
XLA_CPU_FLAGS = "--xla_cpu_use_fusion_emitters=false"


def configure_xla() -> None:
    """Set XLA flags for the fast trainer before JAX starts (a user's own XLA_FLAGS win)."""
    from importlib import metadata

    if "jax" in sys.modules or "xla_cpu_use_fusion_emitters" in os.environ.get("XLA_FLAGS", ""):
        return
    try:
        version = metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return
    if version.startswith("0.10."):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_CPU_FLAGS}".strip()


def compilation_cache_dir() -> str | None:
    """Where compiled training steps are kept between runs: ``TUNECLI_CACHE_DIR``, else the user cache
    folder; ``TUNECLI_CACHE_DIR=off`` turns the cache off."""
    chosen = os.environ.get("TUNECLI_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tunecli", "xla")


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
