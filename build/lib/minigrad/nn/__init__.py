"""Neural-network modules with PyTorch's names, for every network of the course.

- :mod:`~minigrad.nn.module`: ``Parameter``, ``Module``, ``Sequential``, ``ModuleList`` (chapter 3)
- :mod:`~minigrad.nn.layers`: ``Linear``, ``Embedding``, ``Dropout`` (chapters 3, 6, 7)
- :mod:`~minigrad.nn.recurrent`: ``RNNCell``, ``GRUCell``, ``LSTMCell`` and the layers ``RNN``,
  ``GRU``, ``LSTM`` (chapters 3, 7, 9, 10), fused by :mod:`~minigrad.nn.fused` (chapter 13)
- :mod:`~minigrad.nn.patterns`: the book's patterns ``ElmanRNN``, ``JordanRNN``, ``SummaryRNN``
  (chapters 3 and 5)
- :mod:`~minigrad.nn.tree`: ``Tree``, ``TreeRNN``, ``TreeLSTM`` (chapter 11)
- :mod:`~minigrad.nn.pixel`: ``RowLSTM``, ``DiagonalBiLSTM``, ``PixelRNN`` (chapter 12)
- :mod:`~minigrad.nn.decoding`: ``sample``, ``greedy_decode``, ``beam_search`` (chapter 6)
- :mod:`~minigrad.nn.init`: weight initialisation (chapter 13)
"""

from minigrad.nn import init
from minigrad.nn.decoding import beam_search, greedy_decode, sample
from minigrad.nn.layers import Dropout, Embedding, Linear
from minigrad.nn.module import Module, ModuleList, Parameter, Sequential
from minigrad.nn.patterns import ElmanRNN, JordanRNN, SummaryRNN
from minigrad.nn.pixel import DiagonalBiLSTM, PixelRNN, RowLSTM
from minigrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minigrad.nn.tree import Tree, TreeLSTM, TreeRNN

__all__ = [
    "DiagonalBiLSTM",
    "Dropout",
    "ElmanRNN",
    "Embedding",
    "GRU",
    "GRUCell",
    "JordanRNN",
    "LSTM",
    "LSTMCell",
    "Linear",
    "Module",
    "ModuleList",
    "Parameter",
    "PixelRNN",
    "RNN",
    "RNNCell",
    "RowLSTM",
    "Sequential",
    "SummaryRNN",
    "Tree",
    "TreeLSTM",
    "TreeRNN",
    "beam_search",
    "greedy_decode",
    "init",
    "sample",
]
