"""Generated tables as people have them: missing numbers, text categories with missing cells, identifiers, free
text. Small (a few hundred rows), seeded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def housing(n: int = 300, seed: int = 0, missing: bool = True) -> pd.DataFrame:
    """A housing-like table: prices in dollars, a column name with spaces, ``ocean_proximity`` as text."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"longitude": rng.uniform(-124, -114, n), "latitude": rng.uniform(32, 42, n),
                          "total rooms": rng.integers(100, 5000, n).astype(float),
                          "median_income": rng.uniform(0.5, 15, n),
                          "ocean_proximity": rng.choice(["NEAR BAY", "INLAND", "<1H OCEAN", "ISLAND"], n)})
    if missing:
        frame.loc[rng.random(n) < 0.1, "total rooms"] = np.nan
        frame.loc[rng.random(n) < 0.1, "ocean_proximity"] = None
    frame["median_house_value"] = (50_000 * frame["median_income"] + 30_000 * (frame["ocean_proximity"] == "INLAND")
                                   + rng.normal(0, 10_000, n)).round()
    return frame


def titanic(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A Titanic-like table: an id, free-text names, text Sex / Embarked with missing cells, missing ages."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n).astype(object)
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, n + 1), "Pclass": rng.integers(1, 4, n),
        "Name": [f"Passenger {i}, Mr. {rng.choice(['A', 'B', 'C'])}{i}" for i in range(n)],
        "Sex": sex, "Age": rng.uniform(1, 80, n).round(), "Fare": rng.exponential(30, n).round(2),
        "Embarked": rng.choice(["S", "C", "Q"], n).astype(object)})
    frame.loc[rng.random(n) < 0.2, "Age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "Sex"] = None
    frame.loc[rng.random(n) < 0.05, "Embarked"] = None
    frame["Survived"] = ((sex == "female") | (rng.random(n) < 0.2)).astype(int)
    return frame
