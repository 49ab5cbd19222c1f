"""Where a base network comes from: a saved model's hidden layers (``transfer.from``, read by ``read_base_model``),
or an autoencoder's encoder (``pretrain:``, named ``PRETRAINED``). Plain NumPy: reading and checking them imports no
Keras."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunecli.config.catalogue import ACTIVATIONS
from tunecli.data.dataset import BaseLayer, BaseNetwork
from tunecli.errors import SpaceError, shorten, show

#: The ``source`` of the base network an autoencoder trained (``pretrain:``).
PRETRAINED = "autoencoder pretraining"


def read_base_model(path: str, base_dir: str | Path | None, *, space_file: str | None = None) -> BaseNetwork:
    """The hidden layers of a saved Keras model (``transfer.from``), read without importing Keras.

    Args:
        path: a ``.keras`` file (``tunecli train`` saves one), relative to the current folder or to ``base_dir``.
        base_dir: the space file's folder.
        space_file: named in the error messages.

    Raises:
        SpaceError: (field ``transfer.from``) naming the model file: missing or unreadable, not a Keras model, no
            hidden Dense layer, hidden layers of different activations or of one tunecli does not build, or a layer
            it cannot reuse.
    """
    from tunecli.transfer.keras_file import NotReusable, read_keras_file

    def refuse(why: str) -> SpaceError:
        return SpaceError(f"base model {show(path, 80)}: {why}", source=space_file, field="transfer.from")

    found = _find(path, base_dir)
    if found is None or not found.is_file():
        where = "no such file" if found is None else "not a file"
        raise refuse(f"{where} (a relative path is looked up in the current folder, then next to the space file)")
    try:
        dense = read_keras_file(found)
    except NotReusable as exc:
        raise refuse(str(exc)) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise refuse(f"config.json or model.weights.h5 is malformed ({type(exc).__name__})") from None
    hidden = dense[:-1]
    if not hidden:
        raise refuse("the model has no hidden Dense layer to reuse (only its output layer)")
    return BaseNetwork(int(hidden[0].kernel.shape[0]), _base_layers(hidden, refuse), str(path))


def _find(path: str, base_dir: str | Path | None) -> Path | None:
    from tunecli.data.paths import find_file

    try:
        return find_file(path, base_dir)
    except (OSError, ValueError):  # a name the system refuses (a NUL byte, too long)
        return None


def _base_layers(hidden: list[Any], refuse: Callable[[str], SpaceError]) -> tuple[BaseLayer, ...]:
    """The hidden layers with catalogue activation names, all one activation."""
    from tunecli.transfer.keras_file import KERAS_ACTIVATIONS

    names = []
    for layer in hidden:
        if layer.activation is None:
            raise refuse(f"hidden layer {show(layer.name)} has no activation (linear): tunecli builds none like it")
        name = KERAS_ACTIVATIONS.get(layer.activation)
        if name is None:
            raise refuse(f"hidden layer {show(layer.name)} uses activation {show(layer.activation)}, which tunecli does "
                         f"not build; it builds: {', '.join(ACTIVATIONS)}")
        names.append(name)
    if len(set(names)) > 1:
        used = ", ".join(f"{layer.name} {name}" for layer, name in zip(hidden, names))
        raise refuse(f"the hidden layers use different activations ({shorten(used, 160)}); tunecli models use one "
                     "activation for every hidden layer")
    return tuple(BaseLayer(layer.kernel.astype("float32"), layer.bias.astype("float32"), name)
                 for layer, name in zip(hidden, names))
