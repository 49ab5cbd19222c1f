"""The search-space file: the catalogue of tunable names and defaults, parameter specs and the one
walk over a space (``params``), the validated file (``space``), the objective (``objective``).

Pure Python and Pydantic: importing it never imports Optuna, Keras or JAX.
"""
