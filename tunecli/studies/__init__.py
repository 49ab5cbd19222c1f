"""Stored studies: where they live (``storage``), trials as rows and the one JSON shape
(``results``), the report (``report``), diagnostics of a learning curve (``diagnostics``), plots.

Never imports Keras or TensorFlow.
"""
