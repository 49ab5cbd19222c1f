"""Per-trial overhead: tunecli running K fixed-configuration trials vs a hand-written Keras loop.

    python -m benchmarks.overhead [--trials 10] [--epochs 5]

Both train the same K models (2x64 ReLU MLP, Adam 1e-3, batch 32, digits, no early stopping,
validation every epoch), each in its own process; the clock starts after imports and data loading.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

from benchmarks import ROOT, module_command


def hand_loop(trials: int, epochs: int) -> float:
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras

    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    data = load_data(DataSpec(source="digits"))
    start = time.perf_counter()
    for i in range(trials):
        keras.backend.clear_session()
        keras.utils.set_random_seed(i)
        model = keras.Sequential([keras.Input((data.n_features,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(data.n_classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, validation_data=(data.x_val, data.y_val),
                  verbose=0)
    return time.perf_counter() - start


def tunecli_trials(trials: int, epochs: int) -> float:
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras  # noqa: F401 - imported before the clock, as in the hand loop

    from tunecli.config.space import DataSpec, validate_space
    from tunecli.data import load_data
    from tunecli.search.run import run_search

    load_data(DataSpec(source="digits"))
    raw = {"study": "overhead", "data": {"source": "digits"},
           "search": {"trials": trials, "pruner": "none", "algorithm": "random"},
           "training": {"max_epochs": epochs, "early_stopping": {"enabled": False}, "recycle_after": 0},
           "space": {"n_hidden": 2, "n_neurons": 64, "activation": "relu", "optimizer": "adam",
                     "learning_rate": 1e-3, "batch_size": 32}}
    os.chdir(tempfile.mkdtemp())
    start = time.perf_counter()
    run_search(validate_space(raw), quiet=True, more=trials)  # every value fixed: `more` runs them all
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--one", choices=["hand", "tunecli"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        fn = hand_loop if args.one == "hand" else tunecli_trials
        print(json.dumps({"who": args.one, "seconds": round(fn(args.trials, args.epochs), 2)}))
        return
    out = {}
    for who in ("hand", "tunecli"):
        proc = subprocess.run(module_command(__spec__.name, "--one", who, "--trials", str(args.trials),
                                             "--epochs", str(args.epochs)), cwd=ROOT, capture_output=True, text=True,
                              check=True)
        out[who] = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    out["ratio"] = round(out["tunecli"] / out["hand"], 3)
    print(json.dumps({"trials": args.trials, "epochs": args.epochs, **out}))


if __name__ == "__main__":
    main()
