"""Compiled programs: JAX imported with tunecli's XLA flags, programs cached per structure and shapes."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from typing import Any

from tunecli.trainers.fast import meter
from tunecli.trainers.fast.structure import Structure


@cache
def load_jax() -> Any:
    """Import JAX with tunecli's XLA flags and persistent compile cache (if any)."""
    from tunecli.runtime import compilation_cache_dir, configure_xla

    configure_xla()
    import jax

    cache = compilation_cache_dir()
    if cache and not jax.config.jax_compilation_cache_dir:
        try:
            os.makedirs(cache, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", cache)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        except OSError:
            pass  # an unwritable cache folder only costs compile time
    return jax


EXECUTABLES: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
MAX_EXECUTABLES = 512


#: Compiled for compile speed (LLVM -O0 halves the compile time): evaluation, which runs once an epoch, and the
#: training programs of trials expected to train little (``tunecli.trainers.fast.cost``).
_FAST_COMPILE = {"xla_backend_optimization_level": 0}


def executable(fn: Callable, st: Structure, *args: Any, fast_compile: bool = False) -> Callable:
    """``fn`` compiled for this structure and these argument shapes, reused across trials."""
    jax = load_jax()
    key = (fn.__name__, st, fast_compile, jax.tree.structure(args),
           tuple((a.shape, str(a.dtype)) for a in jax.tree.leaves(args)))
    with _LOCK:
        found = EXECUTABLES.get(key)
        if found is not None:
            EXECUTABLES.move_to_end(key)
    meter.program_asked(key, found is None)
    if found is not None:
        return found
    lowered = jax.jit(fn, static_argnums=0).lower(st, *args)
    compiled = lowered.compile(_FAST_COMPILE) if fast_compile else lowered.compile()
    with _LOCK:
        EXECUTABLES[key] = compiled
        while len(EXECUTABLES) > MAX_EXECUTABLES:
            EXECUTABLES.popitem(last=False)
    return compiled
