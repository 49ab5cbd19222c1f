"""Side-by-side runs of tunecli and the tools people would otherwise use; not part of the tests.

Run each script from the repository root as a module: ``python -m benchmarks.NAME [--help]``.
``peers`` holds the other tools (Keras Tuner, plain Optuna, scikit-learn) and the data they share.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The data sets that do not ship with scikit-learn (housing.csv, mnist_20k); ``TUNECLI_BENCH_DATA`` names another folder.
SHARED = Path(os.environ.get("TUNECLI_BENCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"


def module_command(module: str, *args: str) -> list[str]:
    """The command that runs ``module`` (``benchmarks.NAME``) with ``args`` in a fresh Python process."""
    return [sys.executable, "-m", module, *args]


def use_checkout(folder: str | Path) -> None:
    """Make ``import tunecli`` load the package of another checkout (before/after rows), in this process.

    Must run before anything imports ``tunecli``.

    Raises:
        RuntimeError: when ``tunecli`` was already imported from elsewhere.
    """
    package = Path(folder).resolve() / "tunecli"
    loaded = sys.modules.get("tunecli")
    if loaded is not None:
        if Path(loaded.__file__).resolve().parent == package:
            return
        raise RuntimeError(f"tunecli was already imported from {loaded.__file__}, not {package}")
    spec = importlib.util.spec_from_file_location("tunecli", package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no tunecli package in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tunecli"] = module
    spec.loader.exec_module(module)
