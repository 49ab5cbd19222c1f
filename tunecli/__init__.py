"""tunecli: a command-line hyperparameter tuner for Keras MLPs."""

__version__ = "0.1.0"
