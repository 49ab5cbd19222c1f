"""Keras' own training: the model builder, optimizers, schedules and ``fit``.

Importing a module of this package imports Keras (and its backend).
"""
