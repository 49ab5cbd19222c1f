"""The ``Dataset``: preprocessed train / validation / test splits (float32 features), ``RawData`` before it, and the
pretrained hidden layers a ``Dataset`` may carry (``BaseNetwork``; read and trained in ``tunecli.transfer``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.data.transform import FeatureTransform

SHOWN_LEFT_OUT = 8  # describe() names this many left-out columns, then counts the rest


class BaseLayer(NamedTuple):
    """One reusable hidden layer: its kernel (fan_in, width), bias (width,) and activation (a catalogue name)."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str

    @property
    def width(self) -> int:
        return int(self.kernel.shape[1])


class BaseNetwork(NamedTuple):
    """The hidden layers of a pretrained network, input side first (its output layer is never reused)."""

    n_features: int
    layers: tuple[BaseLayer, ...]
    source: str  # the file it came from, or what trained it ("autoencoder pretraining")

    @property
    def activation(self) -> str:
        return self.layers[0].activation if self.layers else "relu"


@dataclass
class RawData:
    """What a source holds before preprocessing: a table (``frame``) or an array (``x``), and the target."""

    y: np.ndarray
    features: list[str]
    frame: pd.DataFrame | None = None
    x: np.ndarray | None = None
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it was left out (data.drop, ...)
    task_hint: str | None = None
    columns: list[str] = field(default_factory=list)  # every feature column of the source, left out or not, in order
    dialect: str = ""  # how a CSV file is written ("semicolon-separated, UTF-8 byte-order mark"); "" otherwise


@dataclass
class Dataset:
    """Preprocessed splits ready for Keras (float32 features)."""

    name: str
    task: str  # classification | regression
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 0
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it was left out
    #: Hidden layers the trials start from (``transfer`` / ``pretrain``, attached by ``tunecli.transfer``); None: every
    #: trial starts afresh.
    base: BaseNetwork | None = None
    #: Source rows outside the three splits (left out by ``data.classes`` / ``data.train_rows``), preprocessed
    #: like the rest, labels dropped: unlabeled rows an autoencoder may pretrain on. None when there are none.
    x_rest: np.ndarray | None = None
    #: The test split's rows by number in the source (``loading.source_rows`` reads them as the source has them)
    test_rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: How the source's columns became ``x_*`` (kept to preprocess unlabeled rows from another file the same way).
    transform: FeatureTransform | None = field(default=None, repr=False, compare=False)
    #: k-fold cross-validation over the training and validation rows (``data.cv``; 0: one split) and its seed
    folds: int = 0
    fold_seed: int = 0
    #: How a CSV source is written (``dialect.Dialect.describe``), named in the summary line; "" for other sources
    dialect: str = ""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> str:
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        name = f"{self.name} ({self.dialect})" if self.dialect else self.name
        text = (f"{name}: {self.n_features} features, {kind}; "
                f"{len(self.x_train)} train / {len(self.x_val)} validation / {len(self.x_test)} test rows")
        return f"{text}; left out: {describe_left_out(self.dropped)}" if self.dropped else text


def describe_left_out(dropped: dict[str, str]) -> str:
    """``"PassengerId (identifier), Name (free text, 891 distinct values)"``, the long tail counted."""
    shown = [f"{name} ({why})" for name, why in list(dropped.items())[:SHOWN_LEFT_OUT]]
    rest = len(dropped) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
