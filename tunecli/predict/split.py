"""``tunecli predict MODEL --test-split SPACE.yaml``: the rows of the test split of the data a space file names — the
rows its search never saw — as the source holds them, to predict and score as a data file's."""

from __future__ import annotations

from pathlib import Path

from tunecli.errors import DataError
from tunecli.predict.reader import DataFile, held_rows

FIELD = "--test-split"


def test_split(space_file: Path) -> DataFile:
    """The test split of ``space_file``'s data, split as the search split it (same fractions and seed).

    Raises:
        TuneCliError: the space file or its data cannot be read, or it keeps no test split.
    """
    from tunecli.config.space import load_space
    from tunecli.data.loading import load_data, source_rows

    space = load_space(space_file)
    if space.data.test == 0:
        raise DataError("its data keeps no test split (data.test: 0)", source=str(space_file), field="data.test")
    folder = space_file.parent
    dataset = load_data(space.data, base_dir=folder)
    assert dataset.test_rows is not None
    frame, y = source_rows(space.data, dataset.test_rows, base_dir=folder)
    label = f"the test split of {dataset.name} ({len(frame)} rows the search never saw)"
    return held_rows(space_file, frame, y, label)
