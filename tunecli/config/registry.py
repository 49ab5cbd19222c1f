"""The extension points of a search, each a table found by name: engines, their algorithms (Optuna's samplers,
Keras Tuner's tuners) and pruners.

The command line's choices and help, the space file's validation and the search all read these tables, so
adding a sampler, a tuner, a pruner or an engine is one ``register`` call (plus its class). Each entry names
its factory as ``"module:attr"``, imported only when a search uses it (or gives the callable itself): this
module imports nothing heavy, so ``tunecli --help`` and validating a space stay fast.

What a factory is:

- ``Engine``: a ``tunecli.search.engines.SearchEngine`` class, made without arguments.
- ``Algorithm`` of the ``optuna`` engine: an Optuna sampler class (made with ``seed=search.seed``) or a function
  of the validated ``SearchSpace`` that returns a sampler.
- ``Algorithm`` of the ``keras-tuner`` engine: a Keras Tuner ``Tuner`` class (the engine subclasses it).
- ``Pruner``: an Optuna pruner class (made without arguments) or a function of the ``SearchSpace``.

Example, a sampler of one's own::

    register(Algorithm("nsga3", "NSGA-III, a genetic algorithm", "optuna.samplers:NSGAIIISampler"))
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

Factory = Union[str, Callable[..., Any]]


@dataclass(frozen=True)
class Extension:
    """One entry of a table: its name in the space file and on the command line, one line of help, its factory."""

    name: str
    help: str
    factory: Factory

    def load(self) -> Callable[..., Any]:
        """The factory itself (``"module:attr"`` imported now)."""
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attr = self.factory.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make(self, space: Any, **kwargs: Any) -> Any:
        """What the factory makes: a class is called with ``kwargs``, a function with the validated ``space``."""
        factory = self.load()
        return factory(**kwargs) if isinstance(factory, type) else factory(space)


@dataclass(frozen=True)
class Engine(Extension):
    """A search engine (``search.engine``)."""

    label: str = ""                # its name in messages
    default_algorithm: str = ""    # ``search.algorithm`` when the file gives none
    workers: bool = False          # runs in several worker processes sharing the study (``search.workers``)


@dataclass(frozen=True)
class Algorithm(Extension):
    """An algorithm of one engine (``search.algorithm``): an Optuna sampler, a Keras Tuner tuner."""

    engine: str = "optuna"
    requires: tuple[str, ...] = ()  # packages it needs beyond the engine's own
    multi_objective: bool = True    # can optimize several objectives at once (``objective: [val_accuracy, params]``)

    def missing(self) -> list[str]:
        """The packages in ``requires`` that are not installed."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class Pruner(Extension):
    """A pruner (``search.pruner``): stops a trial whose epochs so far score poorly."""


ENGINES: dict[str, Engine] = {}
ALGORITHMS: dict[tuple[str, str], Algorithm] = {}  # by (engine, name)
PRUNERS: dict[str, Pruner] = {}

E = TypeVar("E", bound=Extension)


def register(entry: E) -> E:
    """Add ``entry`` to its table (an entry of the same name is replaced); returns it.

    Args:
        entry: an ``Engine``, ``Algorithm`` or ``Pruner``.
    """
    if isinstance(entry, Engine):
        ENGINES[entry.name] = entry
    elif isinstance(entry, Algorithm):
        ALGORITHMS[(entry.engine, entry.name)] = entry
    elif isinstance(entry, Pruner):
        PRUNERS[entry.name] = entry
    else:
        raise TypeError(f"an Engine, Algorithm or Pruner is registered, got {type(entry).__name__}")
    return entry


def algorithms(engine: str) -> list[str]:
    """The names of ``engine``'s algorithms, in the order they were registered."""
    return [name for (owner, name) in ALGORITHMS if owner == engine]


def with_workers() -> list[str]:
    """The engines that run in several worker processes sharing the study."""
    return [e.name for e in ENGINES.values() if e.workers]


def algorithms_help() -> str:
    """The algorithms of every engine in one line: ``optuna: tpe|random|...; keras-tuner: random|...``."""
    return "; ".join(f"{engine}: {'|'.join(algorithms(engine))}" for engine in ENGINES)


def describe() -> str:
    """Every entry with its help, one per line, by table (the ``search`` command's help ends with it)."""
    rows = [("Engines (search.engine):", [(e.name, e.help) for e in ENGINES.values()])]
    rows += [(f"{e.label or e.name} algorithms (search.algorithm; default {e.default_algorithm}):",
              [(a.name, a.help) for a in ALGORITHMS.values() if a.engine == e.name]) for e in ENGINES.values()]
    rows.append(("Pruners (search.pruner):", [(p.name, p.help) for p in PRUNERS.values()]))
    width = max(len(name) for _, entries in rows for name, _ in entries)
    return "\n\n".join("\b\n" + title + "".join(_help_row(name, text, width) for name, text in entries)
                       for title, entries in rows)


def _help_row(name: str, text: str, width: int, columns: int = 78) -> str:
    """``\n  name  text``, the text wrapped under itself within ``columns`` (help reads at 80 columns)."""
    import textwrap

    lines = textwrap.wrap(text, max(20, columns - width - 4)) or [""]
    return f"\n  {name:<{width}}  " + f"\n  {'':<{width}}  ".join(lines)


for _entry in (
    Engine("optuna", "Optuna's samplers and pruners; worker processes can share the study",
           "tunecli.search.engines._optuna:OptunaEngine", label="Optuna", default_algorithm="tpe", workers=True),
    Engine("keras-tuner", "Keras Tuner's tuners, in one process; its trials are also written into the study",
           "tunecli.search.engines._keras_tuner:KerasTunerEngine", label="Keras Tuner", default_algorithm="random"),
    Algorithm("tpe", "Tree-structured Parzen Estimator: samples more where good trials cluster",
              "tunecli.search.samplers:tpe"),
    Algorithm("random", "independent uniform draws", "optuna.samplers:RandomSampler"),
    Algorithm("nsga2", "NSGA-II, a genetic algorithm for several objectives (a Pareto front)",
              "tunecli.search.samplers:nsga2"),
    Algorithm("cmaes", "CMA evolution strategy over the numeric parameters (pip install cmaes); one objective",
              "tunecli.search.samplers:cmaes", requires=("cmaes",), multi_objective=False),
    Algorithm("gp", "Gaussian-process Bayesian optimization (needs torch)", "optuna.samplers:GPSampler",
              requires=("torch",)),
    Algorithm("qmc", "quasi-Monte Carlo (Sobol) draws that cover the space evenly", "tunecli.search.samplers:qmc"),
    Algorithm("grid", "every combination (float ranges need `step`)", "tunecli.search.samplers:grid"),
    Algorithm("random", "RandomSearch: independent draws", "keras_tuner:RandomSearch", engine="keras-tuner"),
    Algorithm("bayesian", "BayesianOptimization: a Gaussian process", "keras_tuner:BayesianOptimization",
              engine="keras-tuner"),
    Algorithm("hyperband", "Hyperband: many short trials, the best trained longer (up to max_epochs)",
              "keras_tuner:Hyperband", engine="keras-tuner"),
    Algorithm("grid", "GridSearch: every combination", "keras_tuner:GridSearch", engine="keras-tuner"),
    Pruner("median", "stops a trial below the median of earlier trials at the same epoch",
           "tunecli.search.samplers:median"),
    Pruner("hyperband", "Hyperband over epochs: brackets of successive halving", "tunecli.search.samplers:hyperband"),
    Pruner("successive-halving", "keeps the best third of the trials at each rung of epochs",
           "tunecli.search.samplers:successive_halving"),
    Pruner("none", "never prunes", "optuna.pruners:NopPruner"),
):
    register(_entry)
