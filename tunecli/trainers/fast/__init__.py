"""The fast trainer: the MLPs of ``build_mlp`` trained by a few lines of JAX instead of ``model.fit``.

Why: on small tabular data a Keras trial costs about a second of model building and tracing
before its first epoch, and 0.07-0.2 s per epoch after it. Here one compiled step function
serves every trial with the same *structure*; everything a sampler varies continuously (learning
rate, dropout rate, momentum, betas, L1/L2, max-norm, clipping, schedule parameters) is an input,
not a constant, and hidden widths are padded to a few buckets with masked units (exactly zero,
so the network is the one asked for). A trial whose structure was seen before starts at once.

By job: ``structure`` (the program key, padding, the flat layout), ``maths`` (the traced step and epoch
loop), ``compile`` (JAX's flags and the program cache), ``cost`` (quick or optimized compiles, how many
members), ``initial`` (initializers and scalar inputs), ``stopping`` (early stopping, reduce-on-plateau),
``tracker`` (one trial's epoch rules), ``loop`` (one trial's epochs), ``members`` (K trials of one structure
trained by one program), ``meter`` (what the trainer reports to benchmarks and tests). Configurations this
trainer does not cover (``supported`` says why) are trained by Keras.
"""

from __future__ import annotations

from tunecli.trainers.fast.loop import fit
from tunecli.trainers.fast.structure import Structure, supported

__all__ = ["Structure", "fit", "supported"]
