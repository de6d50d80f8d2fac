"""The dynamic quantized modules (``torch.ao.nn.quantized.dynamic.modules``)."""

from .linear import Linear, LinearPackedParams
from .rnn import GRU, LSTM, GRUCell, LSTMCell, PackedParameter, RNNBase, RNNCell, RNNCellBase

__all__ = ["Linear", "LinearPackedParams", "LSTM", "GRU", "RNNBase", "PackedParameter", "LSTMCell", "GRUCell",
           "RNNCell", "RNNCellBase"]
