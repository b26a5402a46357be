"""minigrad: the small reverse-mode autograd package of the rnn-course book.

``Value`` is the scalar engine of chapter 2; ``Tensor`` is the numpy engine every model runs on.
Everything here needs only numpy at import time.
"""

from minigrad import diagrams, viz  # draw networks and graphs; import matplotlib only when called
from minigrad import functional
from minigrad.autograd import detect_anomaly, no_grad
from minigrad.gradcheck import gradcheck
from minigrad.scalar import Value
from minigrad.tensor import Tensor, cat, ones, randn, stack, tensor, zeros
from minigrad import nn, optim  # after the engine: both build on Tensor
from minigrad import experiments, training  # seeds and spreads; the one training loop

__all__ = [
    "Tensor",
    "Value",
    "cat",
    "detect_anomaly",
    "diagrams",
    "experiments",
    "functional",
    "gradcheck",
    "no_grad",
    "nn",
    "ones",
    "optim",
    "randn",
    "stack",
    "tensor",
    "training",
    "viz",
    "zeros",
]
__version__ = "0.1.0"
