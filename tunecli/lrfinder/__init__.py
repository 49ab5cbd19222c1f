"""The LR range test: suggestion rules (``rules``), the ramp on the fast trainer (``ramp_fast``) and on Keras'
``fit`` (``ramp_keras``), the test on a fresh model (``range_test``), the tests a study keeps by structure
(``cache``), and the core of ``tunecli lr-find`` (``command``)."""
