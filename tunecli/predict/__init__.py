"""``tunecli predict``: a saved model's predictions for the rows of a data file (``command``), and the story its file
tells of itself (``info``), read without Keras."""
