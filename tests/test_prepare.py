"""``prepare``: the set-up every training command starts with, written once."""

from __future__ import annotations

import copy

import pytest

from tests.helpers import TINY_SPACE
from tunecli.config.objective import Objective
from tunecli.config.space import validate_space
from tunecli.errors import SpaceError
from tunecli.prepare import prepare


def _space(**top):
    return validate_space({**copy.deepcopy(TINY_SPACE), **top}, source="dir/space.yaml")


def test_the_data_the_objective_and_the_folder_of_the_space_file() -> None:
    ready = prepare(_space())
    assert ready.dataset.task == "classification" and len(ready.dataset.x_train) > 0
    assert ready.objective == Objective("val_accuracy", "maximize")
    assert ready.study is None and str(ready.folder) == "dir"


def test_the_study_is_opened_for_the_resolved_objective() -> None:
    opened = []
    ready = prepare(_space(), open_study=lambda objective: opened.append(objective) or "the study")
    assert opened == [Objective("val_accuracy", "maximize")] and ready.study == "the study"


def test_an_objective_the_task_has_not_is_refused_only_where_it_is_used() -> None:
    ready = prepare(_space(objective="val_rmse"))  # lr-find: no objective needed
    with pytest.raises(SpaceError, match="val_rmse needs a regression task"):
        ready.objective  # noqa: B018
    with pytest.raises(SpaceError, match="val_rmse needs a regression task"):
        prepare(_space(objective="val_rmse"), open_study=lambda objective: pytest.fail("opened a study"))
