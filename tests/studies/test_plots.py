"""PNG plots of a study (in-memory Optuna studies, no training) and of an LR range test."""

from __future__ import annotations

import optuna
import pytest

from tunecli.errors import TuneCliError
from tunecli.lrfinder.rules import LRFindResult
from tunecli.studies import attrs
from tunecli.studies.plots import lr_curve_png, write_plots
from tunecli.studies.report import build_report

PNG = b"\x89PNG\r\n\x1a\n"


def _study(n: int, *, lr_curve: bool = False, fail_all: bool = False) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="demo", direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    for i in range(n):
        trial = study.ask()
        n_hidden = trial.suggest_int("n_hidden", 1, 3)
        activation = trial.suggest_categorical("activation", ["relu", "elu"])
        curve = [0.5 + 0.05 * n_hidden * e + 0.01 * i for e in range(1, 4)]
        trial.set_user_attr(attrs.CONFIG, {"n_hidden": n_hidden, "activation": activation})
        trial.set_user_attr(attrs.CURVE, {"val_accuracy": curve})
        if lr_curve and i == 0:
            trial.set_user_attr(attrs.LR_CURVE, {"lr": [1e-4, 1e-3, 1e-2, 1e-1], "loss": [2.0, 1.5, 1.0, 3.0]})
            trial.set_user_attr(attrs.LR_USED, 1e-3)
        if fail_all:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, curve[-1])
    return study


def _names(paths) -> set[str]:
    return {p.name for p in paths}


def test_every_plot_of_a_study_with_complete_trials(tmp_path) -> None:
    study = _study(6, lr_curve=True)
    report = build_report(study, None)
    assert report.importances  # 6 complete trials: fANOVA has something to show
    written = write_plots(report, tmp_path / "plots", study)
    assert _names(written) == {f"demo_{name}.png" for name in ("optimization_history", "param_importances",
                                                                "parallel_coordinates", "learning_curves", "lr_finder")}
    for path in written:
        assert path.parent == tmp_path / "plots" and path.read_bytes()[:8] == PNG
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(_names(written))  # no probe file left
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # every figure closed


def test_a_small_study_gets_only_the_plots_it_has_data_for(tmp_path) -> None:
    study = _study(1)
    written = write_plots(build_report(study, None), tmp_path, study)
    assert _names(written) == {"demo_optimization_history.png", "demo_learning_curves.png"}


def test_a_study_without_completed_trials_has_only_its_curves(tmp_path) -> None:
    study = _study(2, fail_all=True)
    written = write_plots(build_report(study, None), tmp_path, study)
    assert _names(written) == {"demo_learning_curves.png"}


def test_an_unwritable_folder_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "afile").write_text("")
    study = _study(1)
    with pytest.raises(TuneCliError, match="cannot write plots here") as info:
        write_plots(build_report(study, None), tmp_path / "afile" / "sub", study)
    assert info.value.field == "--plots" and info.value.source == str(tmp_path / "afile" / "sub")


def _lr_result() -> LRFindResult:
    lrs = [1e-5 * 10 ** (i / 5) for i in range(26)]
    losses = [2.0 - 0.06 * i if i < 20 else 0.8 + 0.4 * (i - 20) for i in range(26)]
    return LRFindResult(lrs, losses, losses, {"valley": 1e-3, "steep": 3e-4, "minimum": 1e-2}, "valley")


def test_lr_curve_png(tmp_path) -> None:
    path = lr_curve_png(_lr_result(), tmp_path / "new" / "curve.png")
    assert path == tmp_path / "new" / "curve.png" and path.read_bytes()[:8] == PNG
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_lr_curve_png_in_an_unwritable_place(tmp_path) -> None:
    (tmp_path / "afile").write_text("")
    with pytest.raises(TuneCliError, match="cannot write the plot") as info:
        lr_curve_png(_lr_result(), tmp_path / "afile" / "curve.png")
    assert info.value.field == "--plot"
