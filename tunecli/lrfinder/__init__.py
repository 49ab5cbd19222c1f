"""The LR range test: suggestion rules (``rules``), the test on a fresh model (``range_test``),
and the core of ``tunecli lr-find`` (``command``)."""
