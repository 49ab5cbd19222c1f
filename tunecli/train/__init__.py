"""``tunecli train``: refit a fixed configuration on train + validation and score it once on the test split; beside
it, the model the search trained and kept for that configuration (``search.weights``), scored the same way.

- ``command``: ``train_best``, the core of the command (checks, then the kept model and the refit).
- ``kept``: the model a search trial kept, rebuilt from the study.
- ``refit``: the refit on train + validation.
- ``outcome``: what is scored and how (``TrainOutcome``, ``score``); ``files``: where the models are saved.
"""

from __future__ import annotations

from tunecli.train.command import fixed_params, picked_space, train_best
from tunecli.train.outcome import TrainOutcome, score

__all__ = ["TrainOutcome", "fixed_params", "picked_space", "score", "train_best"]
