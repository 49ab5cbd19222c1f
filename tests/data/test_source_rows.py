"""The test split's rows as the source holds them: preprocessed like the data, they are the data's test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunecli.config.space import DataSpec
from tunecli.data import load_data
from tunecli.data.loading import source_rows


def test_a_tables_test_rows_with_their_target(tmp_path: Path) -> None:
    lines = ["id;size;kind;y"] + [f"{i};{'' if i % 9 == 0 else i % 7};{'pqr'[i % 3]};{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    spec = DataSpec(source="t.csv", target="y")
    data = load_data(spec, base_dir=tmp_path)
    frame, y = source_rows(spec, data.test_rows, base_dir=tmp_path)
    assert list(frame.columns) == ["id", "size", "kind", "y"] and len(frame) == len(data.x_test) == 12
    np.testing.assert_allclose(data.transform.apply(frame, data.x_train), data.x_test, rtol=1e-6)
    np.testing.assert_array_equal(np.unique(y, return_inverse=True)[1], data.y_test)


def test_a_built_in_arrays_test_rows_by_feature_name() -> None:
    spec = DataSpec(source="iris", seed=7)
    data = load_data(spec)
    frame, y = source_rows(spec, data.test_rows)
    assert list(frame.columns) == data.feature_names and len(frame) == 30
    np.testing.assert_allclose(data.transform.apply(frame, data.x_train), data.x_test, rtol=1e-6)
    np.testing.assert_array_equal(y, data.y_test)
