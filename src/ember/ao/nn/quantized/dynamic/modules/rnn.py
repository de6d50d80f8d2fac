"""Dynamic quantized LSTM / GRU: int8 weights (quantized once), float in and out. As torch's kernels, each
layer's input projection runs as one dynamic int8 GEMM over the whole sequence (one set of activation
qparams), the hidden projection once per step; the gate arithmetic is float32."""

from __future__ import annotations

from typing import Any

from ...... import nn
from ......_core import dtype as D
from ......ops import creation as C
from ......ops.quantize import QuantizedTensor, linear_dynamic
from ...modules.utils import _quantize_weight

__all__ = ["PackedParameter", "RNNBase", "LSTM", "GRU", "RNNCellBase", "LSTMCell", "GRUCell", "RNNCell"]


class PackedParameter(nn.Module):
    """One layer-direction's ``(w_ih, b_ih, w_hh, b_hh)`` (int8 weights, float biases), saved as ``param``."""

    def __init__(self, param: tuple) -> None:
        super().__init__()
        self.param = param

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "param"] = self.param

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self.param = state_dict.pop(prefix + "param")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)


class RNNBase(nn.Module):
    """The shared layer/direction loop of the dynamic quantized recurrent modules."""

    _FLOAT_MODULE: Any = None
    _GATES = 1
    _version = 2
    proj_size = 0

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = D.qint8) -> None:
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.dtype = float(dropout), bidirectional, dtype
        self.version = 2
        if dtype is not D.qint8:
            raise ValueError(f"Unsupported dtype: {dtype}")
        gate = self._GATES * hidden_size
        packed = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                w_ih = _zero_qweight(gate, in_size)
                w_hh = _zero_qweight(gate, hidden_size)
                b = C.zeros(gate) if bias else None
                packed.append(PackedParameter((w_ih, b, w_hh, b)))
        self._all_weight_values = nn.ModuleList(packed)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _get_name(self) -> str:
        return "DynamicQuantized" + type(self).__name__

    extra_repr = nn.RNNBase.extra_repr   # proj_size stays 0: never printed

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    def _weight_bias(self) -> dict:
        """``{'weight': {name: qweight}, 'bias': {name: bias}}`` keyed by the float module's parameter names."""
        out: dict = {"weight": {}, "bias": {}}
        for i, packed in enumerate(self._all_weight_values):
            layer, direction = divmod(i, self.num_directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, b_ih, w_hh, b_hh = packed.param
            out["weight"]["weight_ih" + suffix], out["weight"]["weight_hh" + suffix] = w_ih, w_hh
            out["bias"]["bias_ih" + suffix], out["bias"]["bias_hh" + suffix] = b_ih, b_hh
        return out

    def get_weight(self) -> dict:
        return self._weight_bias()["weight"]

    def get_bias(self) -> dict:
        return self._weight_bias()["bias"]

    def _cell(self, ih: Any, state: tuple, w_hh: QuantizedTensor, b_hh: Any) -> tuple:
        """One step: the new state tuple (hidden first) from the step's input projection ``ih``."""
        raise NotImplementedError

    def _run(self, input: Any, state: tuple) -> tuple[Any, tuple]:
        """All layers and directions over ``input`` (seq, batch, feature); ``state`` holds one
        (layers * directions, batch, hidden) tensor per state kind."""
        from ......ops.shape import cat, stack
        finals: list[list] = [[] for _ in state]
        x = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                idx = layer * self.num_directions + direction
                w_ih, b_ih, w_hh, b_hh = self._all_weight_values[idx].param
                seq = x.flip(0) if direction else x
                ih_all = linear_dynamic(seq, w_ih, b_ih, reduce_range=True)
                s = tuple(t[idx] for t in state)
                hs = []
                for t in range(seq.shape[0]):
                    s = self._cell(ih_all[t], s, w_hh, b_hh)
                    hs.append(s[0])
                out = stack(hs)
                outputs.append(out.flip(0) if direction else out)
                for kind, v in enumerate(s):
                    finals[kind].append(v)
            x = cat(outputs, 2) if len(outputs) > 1 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout, True)
        return x, tuple(stack(f) for f in finals)

    def _forward(self, input: Any, hx: Any, kinds: int) -> tuple[Any, Any]:
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise NotImplementedError("ember's dynamic quantized RNNs take padded tensors, not PackedSequence")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        if self.batch_first:
            input = input.transpose(0, 1)
        shape = (self.num_layers * self.num_directions, input.shape[1], self.hidden_size)
        if hx is None:
            state = tuple(C.zeros(*shape) for _ in range(kinds))
        else:
            state = tuple(hx) if kinds > 1 else (hx,)
        out, final = self._run(input, state)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, final if kinds > 1 else final[0]

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> RNNBase:
        """Quantize a float LSTM/GRU's weights to int8 (a fresh weight observer per weight)."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError("nn.quantized.dynamic.RNNBase.from_float only works for nn.LSTM, nn.GRU")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if mod.qconfig is not None and mod.qconfig.weight is not None:
            make_observer = mod.qconfig.weight
        else:
            from .....quantization.qconfig import default_dynamic_qconfig
            make_observer = default_dynamic_qconfig.weight
        dtype = make_observer().dtype
        if dtype is not D.qint8:
            raise RuntimeError(f"Unsupported dtype for dynamic RNN quantization: {dtype}")
        new = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first, mod.dropout,
                  mod.bidirectional, dtype)

        def quantized(w: Any) -> QuantizedTensor:
            observer = make_observer()
            observer(w)
            return _quantize_weight(w.detach().float(), observer)

        packed = []
        for layer in range(mod.num_layers):
            for direction in range(new.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                b_ih = getattr(mod, "bias_ih" + suffix).detach() if mod.bias else None
                b_hh = getattr(mod, "bias_hh" + suffix).detach() if mod.bias else None
                packed.append(PackedParameter((quantized(getattr(mod, "weight_ih" + suffix)), b_ih,
                                               quantized(getattr(mod, "weight_hh" + suffix)), b_hh)))
        new._all_weight_values = nn.ModuleList(packed)
        return new


def _zero_qweight(rows: int, cols: int) -> QuantizedTensor:
    from ......ops.quantize import quantize_per_tensor
    return quantize_per_tensor(C.zeros(rows, cols), 1.0, 0, D.qint8)


class LSTM(RNNBase):
    """``torch.ao.nn.quantized.dynamic.LSTM`` (prints as ``DynamicQuantizedLSTM``)."""

    _FLOAT_MODULE = nn.LSTM
    _GATES = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def _cell(self, ih: Any, state: tuple, w_hh: QuantizedTensor, b_hh: Any) -> tuple:
        h, c = state
        i, f, g, o = (ih + linear_dynamic(h, w_hh, b_hh, reduce_range=True)).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        return self._forward(input, hx, 2)


class GRU(RNNBase):
    """``torch.ao.nn.quantized.dynamic.GRU`` (prints as ``DynamicQuantizedGRU``)."""

    _FLOAT_MODULE = nn.GRU
    _GATES = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("GRU", *args, **kwargs)

    def _cell(self, ih: Any, state: tuple, w_hh: QuantizedTensor, b_hh: Any) -> tuple:
        (h,) = state
        i_r, i_z, i_n = ih.chunk(3, 1)
        h_r, h_z, h_n = linear_dynamic(h, w_hh, b_hh, reduce_range=True).chunk(3, 1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        return (n + z * (h - n),)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        return self._forward(input, hx, 1)


class RNNCellBase(nn.Module):
    """A dynamic quantized recurrent cell: ``linear_dynamic(input, w_ih) + linear_dynamic(hx, w_hh)`` (biases
    inside each), then the cell's float gate arithmetic. State_dict: ``_packed_weight_ih`` / ``_packed_weight_hh``
    (``(int8 weight, bias)`` pairs)."""

    _FLOAT_MODULE: Any = None
    _CHUNKS = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, num_chunks: int = 4,
                 dtype: Any = D.qint8) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias, self.weight_dtype = input_size, hidden_size, bias, dtype
        gate = num_chunks * hidden_size
        self.bias_ih = C.zeros(gate) if bias else None
        self.bias_hh = C.zeros(gate) if bias else None
        self._packed_weight_ih = (_zero_qweight(gate, input_size), self.bias_ih)
        self._packed_weight_hh = (_zero_qweight(gate, hidden_size), self.bias_hh)

    def _get_name(self) -> str:
        return "DynamicQuantized" + type(self).__name__

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "_packed_weight_ih"] = self._packed_weight_ih
        destination[prefix + "_packed_weight_hh"] = self._packed_weight_hh

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        self._packed_weight_ih = state_dict.pop(prefix + "_packed_weight_ih")
        self._packed_weight_hh = state_dict.pop(prefix + "_packed_weight_hh")
        self.bias_ih, self.bias_hh = self._packed_weight_ih[1], self._packed_weight_hh[1]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def _weight_bias(self) -> dict:
        return {"weight": {"weight_ih": self._packed_weight_ih[0], "weight_hh": self._packed_weight_hh[0]},
                "bias": {"bias_ih": self.bias_ih, "bias_hh": self.bias_hh}}

    def _gates(self, input: Any, hx: Any) -> tuple[Any, Any]:
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        return (linear_dynamic(input, *self._packed_weight_ih, reduce_range=True),
                linear_dynamic(hx, *self._packed_weight_hh, reduce_range=True))

    def _zeros(self, input: Any) -> Any:
        return C.zeros(*input.shape[:-1], self.hidden_size)

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> RNNCellBase:
        """Quantize a float cell's two weight matrices to int8 (a fresh weight observer each)."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError("nn.quantized.dynamic.RNNCellBase.from_float only works for nn.LSTMCell, "
                                 "nn.GRUCell, and nn.RNNCell")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        make_observer = mod.qconfig.weight if mod.qconfig is not None and mod.qconfig.weight is not None else None
        if make_observer is None:
            from .....quantization.qconfig import default_dynamic_qconfig
            make_observer = default_dynamic_qconfig.weight
        kwargs = {"nonlinearity": mod.nonlinearity} if cls is RNNCell else {}
        new = cls(mod.input_size, mod.hidden_size, bias=mod.bias, dtype=make_observer().dtype, **kwargs)

        def quantized(w: Any) -> QuantizedTensor:
            observer = make_observer()
            observer(w)
            return _quantize_weight(w.detach().float(), observer)

        new.bias_ih = mod.bias_ih.detach() if mod.bias else None
        new.bias_hh = mod.bias_hh.detach() if mod.bias else None
        new._packed_weight_ih = (quantized(mod.weight_ih), new.bias_ih)
        new._packed_weight_hh = (quantized(mod.weight_hh), new.bias_hh)
        return new


class LSTMCell(RNNCellBase):
    """``torch.ao.nn.quantized.dynamic.LSTMCell``."""

    _FLOAT_MODULE = nn.LSTMCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = D.qint8) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, dtype=dtype)

    def forward(self, input: Any, hx: tuple | None = None) -> tuple[Any, Any]:
        h, c = (self._zeros(input), self._zeros(input)) if hx is None else hx
        ih, hh = self._gates(input, h)
        i, f, g, o = (ih + hh).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c


class GRUCell(RNNCellBase):
    """``torch.ao.nn.quantized.dynamic.GRUCell``."""

    _FLOAT_MODULE = nn.GRUCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = D.qint8) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def forward(self, input: Any, hx: Any = None) -> Any:
        h = self._zeros(input) if hx is None else hx
        ih, hh = self._gates(input, h)
        i_r, i_z, i_n = ih.chunk(3, -1)
        h_r, h_z, h_n = hh.chunk(3, -1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        return n + z * (h - n)


class RNNCell(RNNCellBase):
    """``torch.ao.nn.quantized.dynamic.RNNCell`` (tanh or relu)."""

    _FLOAT_MODULE = nn.RNNCell

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: Any = D.qint8) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Any:
        h = self._zeros(input) if hx is None else hx
        ih, hh = self._gates(input, h)
        out = ih + hh
        if self.nonlinearity == "tanh":
            return out.tanh()
        if self.nonlinearity == "relu":
            return out.relu()
        raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
