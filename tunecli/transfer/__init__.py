"""Transfer learning and pretraining (Géron, "Hands-On ML" ch. 11): the base network a search's trials start from.

- ``reuse``: ``attach_base`` checks a space that reuses layers against its data and attaches a saved model's
  hidden layers (``transfer.from``: ``base_model``, which reads the ``.keras`` file with ``keras_file``, no Keras).
- ``pretrain``: ``with_pretrained`` attaches the encoder of an autoencoder (``autoencoder``, Keras) trained on the
  training rows and the unlabeled ones (``unlabeled``), once per study: it is stored with the study.

What a data set carries (``BaseNetwork``) is defined with it in ``tunecli.data.dataset``; how a trial trains from it
(``plan``, ``phases``: which layers are reused, how long they stay frozen) in ``tunecli.trainers.transfer``, which
both trainers read. This package sits above the trainers and the study store, below the commands that use it.
"""

from __future__ import annotations

from tunecli.transfer.base_model import read_base_model
from tunecli.transfer.pretrain import with_pretrained
from tunecli.transfer.reuse import attach_base
from tunecli.transfer.unlabeled import read_unlabeled

__all__ = ["attach_base", "read_base_model", "read_unlabeled", "with_pretrained"]
