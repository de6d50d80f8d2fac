"""ember calls → ONNX nodes. Each symbolic gets the graph, the call's arguments by name (the first one always
as ``input``) and the call's result, whose concrete shapes settle what the arguments leave implicit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._graph import Graph, flatten, to_numpy
from .errors import SymbolicValueError, UnsupportedOperatorError

SYMBOLICS: dict[str, Callable[[Graph, dict, Any], None]] = {}
_INT64_MAX = np.iinfo(np.int64).max


def symbolic(*names: str) -> Callable:
    def register(fn: Callable) -> Callable:
        for n in names:
            SYMBOLICS[n] = fn
        return fn
    return register


def _dt(t: Tensor) -> np.dtype:
    return t.numpy().dtype


def _tuple(v: Any, n: int) -> list[int]:
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def _dims(dim: Any, ndim: int) -> list[int]:
    dims = list(range(ndim)) if dim is None or dim == () or dim == [] else _tuple(dim, 1)
    return [d % ndim if ndim else 0 for d in dims]


def _alias(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.value(a["input"]))


def _onnx_type(dtype: np.dtype) -> int:
    import onnx
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ------------------------------------------------------------------ elementwise
_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log", "abs": "Abs",
          "neg": "Neg", "sqrt": "Sqrt", "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "erf": "Erf",
          "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "round": "Round", "logical_not": "Not",
          "hardswish": "HardSwish", "softsign": "Softsign", "isnan": "IsNaN", "relu_": "Relu",
          "sigmoid_": "Sigmoid", "tanh_": "Tanh", "neg_": "Neg", "exp_": "Exp"}


def _unary(onnx_op: str) -> Callable:
    def fn(g: Graph, a: dict, out: Any) -> None:
        g.bind(out, g.op(onnx_op, [g.value(a["input"])]))
    return fn


for _name, _op in _UNARY.items():
    SYMBOLICS[_name] = _unary(_op)
SYMBOLICS["__abs__"] = SYMBOLICS["abs"]

_BINARY = {"add": "Add", "add_": "Add", "sub": "Sub", "sub_": "Sub", "subtract": "Sub", "mul": "Mul",
           "mul_": "Mul", "multiply": "Mul", "div": "Div", "div_": "Div", "divide": "Div", "true_divide": "Div",
           "pow": "Pow", "maximum": "Max", "minimum": "Min", "eq": "Equal", "__eq__": "Equal", "lt": "Less",
           "__lt__": "Less", "gt": "Greater", "__gt__": "Greater", "le": "LessOrEqual", "__le__": "LessOrEqual",
           "ge": "GreaterOrEqual", "__ge__": "GreaterOrEqual", "remainder": "Mod", "fmod": "Mod",
           "logical_and": "And", "logical_or": "Or", "__and__": "And", "__or__": "Or", "floor_divide": "Div",
           "__floordiv__": "Div"}
_REFLECTED = {"__rfloordiv__": "Div", "__rsub__": "Sub", "__rdiv__": "Div", "__rtruediv__": "Div", "__rpow__": "Pow"}


def _operand_dtype(a: Any, b: Any, out: Tensor) -> np.dtype:
    """The dtype both operands are brought to: the result's, or for comparisons the promoted input dtype."""
    if _dt(out) != np.bool_:
        return _dt(out)
    from .. import empty, result_type
    return empty((), dtype=result_type(a, b)).numpy().dtype


def _binary(onnx_op: str, reflected: bool = False) -> Callable:
    def fn(g: Graph, a: dict, out: Any) -> None:
        x = a["input"]
        y = a.get("other", a.get("exponent"))
        if y is None:
            y = next(v for k, v in a.items() if k != "input")
        if onnx_op == "Pow":
            dtype = _dt(out)
            lhs, rhs = g.value(x, dtype), g.value(y, dtype if not isinstance(y, Tensor) else None)
        else:
            dtype = _operand_dtype(x, y, out)
            lhs, rhs = g.value(x, dtype), g.value(y, dtype)
        alpha = a.get("alpha", 1)
        if alpha != 1:
            rhs = g.op("Mul", [rhs, g.const(alpha, dtype)])
        if reflected:
            lhs, rhs = rhs, lhs
        mode = "floor" if g.current in ("floor_divide", "__floordiv__", "__rfloordiv__") else a.get("rounding_mode")
        if onnx_op == "Div" and mode == "floor" and np.issubdtype(dtype, np.integer):   # (a - a mod b) / b
            g.bind(out, g.op("Div", [g.op("Sub", [lhs, g.op("Mod", [lhs, rhs])]), rhs]))
            return
        if onnx_op == "Div" and mode == "trunc" and np.issubdtype(dtype, np.floating):
            raise UnsupportedOperatorError(f"aten::div (rounding_mode={mode!r}, {dtype})", g.opset, None)
        if onnx_op == "Mod" and np.issubdtype(dtype, np.floating):
            res = g.op("Mod", [lhs, rhs], fmod=1)
        else:
            res = g.op(onnx_op, [lhs, rhs])
        if onnx_op == "Div" and mode == "floor":
            res = g.op("Floor", [res])
        g.bind(out, res)
    return fn


for _name, _op in _BINARY.items():
    SYMBOLICS[_name] = _binary(_op)
for _name, _op in _REFLECTED.items():
    SYMBOLICS[_name] = _binary(_op, reflected=True)


@symbolic("ne", "__ne__")
def _ne(g: Graph, a: dict, out: Any) -> None:
    dtype = _operand_dtype(a["input"], a["other"], out)
    g.bind(out, g.op("Not", [g.op("Equal", [g.value(a["input"], dtype), g.value(a["other"], dtype)])]))


@symbolic("rsqrt")
def _rsqrt(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("Reciprocal", [g.op("Sqrt", [g.value(a["input"])])]))


@symbolic("where")
def _where(g: Graph, a: dict, out: Any) -> None:
    dtype = _dt(out)
    g.bind(out, g.op("Where", [g.value(a["condition"]), g.value(a["input"], dtype), g.value(a["other"], dtype)]))


@symbolic("masked_fill", "masked_fill_")
def _masked_fill(g: Graph, a: dict, out: Any) -> None:
    dtype = _dt(out)
    g.bind(out, g.op("Where", [g.value(a["mask"]), g.value(a["value"], dtype), g.value(a["input"])]))


@symbolic("clamp", "clip", "clamp_", "hardtanh", "relu6")
def _clamp(g: Graph, a: dict, out: Any) -> None:
    dtype = _dt(out)
    lo = a.get("min", a.get("min_val", 0.0))
    hi = a.get("max", a.get("max_val", 6.0))
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        res = g.value(a["input"])
        if lo is not None:
            res = g.op("Max", [res, g.value(lo, dtype)])
        if hi is not None:
            res = g.op("Min", [res, g.value(hi, dtype)])
        g.bind(out, res)
        return
    g.bind(out, g.op("Clip", [g.value(a["input"]), None if lo is None else g.const(lo, dtype),
                              None if hi is None else g.const(hi, dtype)]))


@symbolic("leaky_relu", "leaky_relu_")
def _leaky_relu(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("LeakyRelu", [g.value(a["input"])], alpha=float(a["negative_slope"])))


@symbolic("elu")
def _elu(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("Elu", [g.value(a["input"])], alpha=float(a["alpha"])))


@symbolic("hardsigmoid")
def _hardsigmoid(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("HardSigmoid", [g.value(a["input"])], alpha=1 / 6, beta=0.5))


@symbolic("silu")
def _silu(g: Graph, a: dict, out: Any) -> None:
    x = g.value(a["input"])
    g.bind(out, g.op("Mul", [x, g.op("Sigmoid", [x])]))


@symbolic("softplus")
def _softplus(g: Graph, a: dict, out: Any) -> None:
    beta = a.get("beta", 1)
    x = g.value(a["input"])
    if beta == 1:
        g.bind(out, g.op("Softplus", [x]))
    else:
        b = g.const(beta, _dt(out))
        g.bind(out, g.op("Div", [g.op("Softplus", [g.op("Mul", [x, b])]), b]))


@symbolic("gelu")
def _gelu(g: Graph, a: dict, out: Any) -> None:
    x, dtype, approx = g.value(a["input"]), _dt(out), a.get("approximate", "none")
    if g.opset >= 20:
        g.bind(out, g.op("Gelu", [x], approximate=approx))
        return
    if approx == "tanh":
        cube = g.op("Mul", [g.const(0.044715, dtype), g.op("Pow", [x, g.const(3.0, dtype)])])
        inner = g.op("Mul", [g.op("Add", [x, cube]), g.const(math.sqrt(2 / math.pi), dtype)])
        phi = g.op("Mul", [g.op("Add", [g.op("Tanh", [inner]), g.const(1.0, dtype)]), g.const(0.5, dtype)])
    else:
        erf = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2.0), dtype)])])
        phi = g.op("Mul", [g.op("Add", [erf, g.const(1.0, dtype)]), g.const(0.5, dtype)])
    g.bind(out, g.op("Mul", [x, phi]))


@symbolic("softmax", "log_softmax")
def _softmax(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    name = g.value(x, _dt(out))
    dim = a.get("dim")
    if dim is None:
        dim = 0 if x.dim() in (0, 1, 3) else 1
    op = "LogSoftmax" if "log" in g.current else "Softmax"
    g.bind(out, g.op(op, [name], axis=int(dim)))


@symbolic("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")
def _dropout(g: Graph, a: dict, out: Any) -> None:
    if a.get("training") and a.get("p", 0) > 0:
        if g.current != "dropout":
            raise UnsupportedOperatorError(f"aten::{g.current} (training)", g.opset, None)
        g.bind(out, g.op("Dropout", [g.value(a["input"]), g.const(a["p"], _dt(out)), g.const(True)]))
        return
    _alias(g, a, out)


@symbolic("contiguous", "clone", "detach", "identity", "positive", "__pos__", "data")
def _identity(g: Graph, a: dict, out: Any) -> None:
    _alias(g, a, out)


@symbolic("to", "type", "type_as", "float", "double", "half", "long", "int", "bool", "bfloat16", "short")
def _cast(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    if not isinstance(out, Tensor):
        raise UnsupportedOperatorError(f"aten::{g.current}", g.opset, None)
    if _dt(out) == _dt(x):
        _alias(g, a, out)
    else:
        g.bind(out, g.op("Cast", [g.value(x)], to=_onnx_type(_dt(out))))


@symbolic("zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "empty_like", "new_zeros",
          "new_ones", "new_full", "new_tensor")
def _constant_like(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.const(to_numpy(out)))


# ------------------------------------------------------------------ linear algebra and layers
@symbolic("matmul", "mm", "bmm", "__matmul__")
def _matmul(g: Graph, a: dict, out: Any) -> None:
    other = a.get("other", a.get("mat2"))
    g.bind(out, g.op("MatMul", [g.value(a["input"]), g.value(other)]))


@symbolic("linear")
def _linear(g: Graph, a: dict, out: Any) -> None:
    x, w, b = a["input"], a["weight"], a.get("bias")
    if x.dim() == 2:
        ins = [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else [])
        g.bind(out, g.op("Gemm", ins, alpha=1.0, beta=1.0, transB=1))
        return
    res = g.op("MatMul", [g.value(x), g.op("Transpose", [g.value(w)], perm=[1, 0])])
    g.bind(out, g.op("Add", [res, g.value(b)]) if b is not None else res)


@symbolic("conv1d", "conv2d", "conv3d")
def _conv(g: Graph, a: dict, out: Any) -> None:
    x, w, b = a["input"], a["weight"], a.get("bias")
    n = w.dim() - 2
    kernel = list(w.shape[2:])
    dilation = _tuple(a["dilation"], n)
    padding = a["padding"]
    if padding == "valid":
        pads = [0] * (2 * n)
    elif padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    else:
        p = _tuple(padding, n)
        pads = p + p
    ins = [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else [])
    g.bind(out, g.op("Conv", ins, dilations=dilation, group=int(a["groups"]), kernel_shape=kernel, pads=pads,
                     strides=_tuple(a["stride"], n)))


@symbolic("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def _conv_transpose(g: Graph, a: dict, out: Any) -> None:
    x, w, b = a["input"], a["weight"], a.get("bias")
    n = w.dim() - 2
    p = _tuple(a["padding"], n)
    ins = [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else [])
    g.bind(out, g.op("ConvTranspose", ins, dilations=_tuple(a["dilation"], n), group=int(a["groups"]),
                     kernel_shape=list(w.shape[2:]), output_padding=_tuple(a["output_padding"], n), pads=p + p,
                     strides=_tuple(a["stride"], n)))


@symbolic("batch_norm")
def _batch_norm(g: Graph, a: dict, out: Any) -> None:
    x, mean, var, w, b = a["input"], a["running_mean"], a["running_var"], a.get("weight"), a.get("bias")
    if a["training"] or mean is None:
        raise UnsupportedOperatorError("aten::batch_norm (training, or without running statistics)", g.opset,
                                       None)
    c, dtype = x.shape[1], _dt(x)
    scale = g.value(w) if w is not None else g.const(np.ones(c, dtype))
    bias = g.value(b) if b is not None else g.const(np.zeros(c, dtype))
    g.bind(out, g.op("BatchNormalization", [g.value(x), scale, bias, g.value(mean), g.value(var)],
                     epsilon=float(a["eps"]), momentum=1 - float(a["momentum"] or 0.1)))


@symbolic("layer_norm")
def _layer_norm(g: Graph, a: dict, out: Any) -> None:
    x, w, b = a["input"], a.get("weight"), a.get("bias")
    shape = _tuple(a["normalized_shape"], 1)
    scale = g.value(w) if w is not None else g.const(np.ones(shape, _dt(x)))
    ins = [g.value(x), scale] + ([g.value(b)] if b is not None else [])
    g.bind(out, g.op("LayerNormalization", ins, axis=-len(shape), epsilon=float(a["eps"])))


@symbolic("group_norm")
def _group_norm(g: Graph, a: dict, out: Any) -> None:
    x, groups, w, b = a["input"], int(a["num_groups"]), a.get("weight"), a.get("bias")
    dtype = _dt(x)
    grouped = g.op("Reshape", [g.value(x), g.ints([0, groups, -1])])
    normed = g.op("InstanceNormalization", [grouped, g.const(np.ones(groups, dtype)),
                                            g.const(np.zeros(groups, dtype))], epsilon=float(a["eps"]))
    res = g.op("Reshape", [normed, g.op("Shape", [g.value(x)])])
    trailing = list(range(1, x.dim() - 1))
    if w is not None:
        res = g.op("Mul", [res, g.op("Unsqueeze", [g.value(w), g.ints(trailing)])])
    if b is not None:
        res = g.op("Add", [res, g.op("Unsqueeze", [g.value(b), g.ints(trailing)])])
    g.bind(out, res)


@symbolic("embedding")
def _embedding(g: Graph, a: dict, out: Any) -> None:
    if a.get("max_norm") is not None:
        raise UnsupportedOperatorError("aten::embedding_renorm", g.opset, None)
    g.bind(out, g.op("Gather", [g.value(a["weight"]), g.value(a["input"])], axis=0))


@symbolic("scaled_dot_product_attention")
def _sdpa(g: Graph, a: dict, out: Any) -> None:
    q, k, v, mask = a["input"], a["key"], a["value"], a.get("attn_mask")
    if a.get("dropout_p", 0.0) and g.training:
        raise UnsupportedOperatorError("aten::scaled_dot_product_attention (dropout)", g.opset, None)
    if a.get("enable_gqa") and q.shape[-3] != k.shape[-3]:
        raise UnsupportedOperatorError("aten::scaled_dot_product_attention (enable_gqa)", g.opset, None)
    dtype = _dt(q)
    scale = a.get("scale")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    perm = list(range(k.dim()))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    scores = g.op("Mul", [g.op("MatMul", [g.value(q), g.op("Transpose", [g.value(k)], perm=perm)]),
                          g.const(scale, dtype)])
    L, S = q.shape[-2], k.shape[-2]
    if a.get("is_causal"):
        bias = np.where(np.tril(np.ones((L, S), bool)), 0, -np.inf).astype(dtype)
        scores = g.op("Add", [scores, g.const(bias)])
    if mask is not None:
        if _dt(mask) == np.bool_:
            m = g.op("Where", [g.value(mask), g.const(0.0, dtype), g.const(-np.inf, dtype)])
        else:
            m = g.value(mask, dtype)
        scores = g.op("Add", [scores, m])
    g.bind(out, g.op("MatMul", [g.op("Softmax", [scores], axis=-1), g.value(v)]))


@symbolic("multi_head_attention_forward")
def _mha(g: Graph, a: dict, out: Any) -> None:
    """F.multi_head_attention_forward on batched (L, N, E) inputs, decomposed as torch's math path."""
    q, k, v = a["input"], a["key"], a["value"]
    unsupported = [n for n in ("bias_k", "bias_v", "static_k", "static_v") if a.get(n) is not None]
    if q.dim() != 3 or unsupported or a.get("add_zero_attn") or (a.get("training") and a.get("dropout_p")):
        raise UnsupportedOperatorError("aten::multi_head_attention_forward (unbatched input, bias_k/bias_v, "
                                       "static_k/static_v, add_zero_attn or dropout)", g.opset, None)
    heads, (L, _, E), S = int(a["num_heads"]), q.shape, k.shape[0]
    dtype, head_dim = _dt(q), E // int(a["num_heads"])
    bias = a.get("in_proj_bias")
    b = g.op("Split", [g.value(bias), g.ints([E] * 3)], outputs=3, axis=0) if bias is not None else [None] * 3
    if a.get("use_separate_proj_weight"):
        ws = [g.value(a[f"{n}_proj_weight"]) for n in "qkv"]
    else:
        ws = g.op("Split", [g.value(a["in_proj_weight"]), g.ints([E] * 3)], outputs=3, axis=0)

    def project(x: Tensor, w: str, bias: str | None, length: int) -> str:
        y = g.op("MatMul", [g.value(x), g.op("Transpose", [w], perm=[1, 0])])
        y = g.op("Add", [y, bias]) if bias is not None else y
        y = g.op("Reshape", [y, g.ints([length, -1, heads, head_dim])])
        return g.op("Transpose", [y], perm=[1, 2, 0, 3])                 # (N, H, length, D)
    qh, kh, vh = project(q, ws[0], b[0], L), project(k, ws[1], b[1], S), project(v, ws[2], b[2], S)
    scores = g.op("Mul", [g.op("MatMul", [qh, g.op("Transpose", [kh], perm=[0, 1, 3, 2])]),
                          g.const(1 / math.sqrt(head_dim), dtype)])

    def additive(mask: Tensor) -> str:
        if _dt(mask) == np.bool_:   # True: not allowed
            return g.op("Where", [g.value(mask), g.const(-np.inf, dtype), g.const(0.0, dtype)])
        return g.value(mask, dtype)
    mask, padding = a.get("attn_mask"), a.get("key_padding_mask")
    if mask is not None:
        m = additive(mask)
        scores = g.op("Add", [scores, m if mask.dim() == 2 else g.op("Reshape", [m, g.ints([-1, heads, L, S])])])
    elif a.get("is_causal"):
        scores = g.op("Add", [scores, g.const(np.where(np.tril(np.ones((L, S), bool)), 0, -np.inf).astype(dtype))])
    if padding is not None:
        scores = g.op("Add", [scores, g.op("Unsqueeze", [additive(padding), g.ints([1, 2])])])
    weights = g.op("Softmax", [scores], axis=-1)
    y = g.op("Transpose", [g.op("MatMul", [weights, vh])], perm=[2, 0, 1, 3])   # (L, N, H, D)
    y = g.op("MatMul", [g.op("Reshape", [y, g.ints([0, 0, E])]),
                        g.op("Transpose", [g.value(a["out_proj_weight"])], perm=[1, 0])])
    if a.get("out_proj_bias") is not None:
        y = g.op("Add", [y, g.value(a["out_proj_bias"])])
    g.bind(out[0], y)
    if out[1] is not None:
        if a.get("average_attn_weights", True):
            weights = g.op("ReduceMean", [weights, g.ints([1])], keepdims=0) if g.opset >= 18 else \
                g.op("ReduceMean", [weights], axes=[1], keepdims=0)
        g.bind(out[1], weights)


@symbolic("mish")
def _mish(g: Graph, a: dict, out: Any) -> None:
    x = g.value(a["input"])
    g.bind(out, g.op("Mish", [x]) if g.opset >= 18 else g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])]))


@symbolic("logsigmoid")
def _logsigmoid(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("Log", [g.op("Sigmoid", [g.value(a["input"])])]))


@symbolic("prelu")
def _prelu(g: Graph, a: dict, out: Any) -> None:
    x, w = a["input"], a["weight"]
    slope = g.value(w)
    if w.numel() > 1 and x.dim() > 2:
        slope = g.op("Unsqueeze", [slope, g.ints(range(1, x.dim() - 1))])
    g.bind(out, g.op("PRelu", [g.value(x), slope]))


@symbolic("glu")
def _glu(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    dim = int(a["dim"]) % x.dim()
    first, second = g.op("Split", [g.value(x), g.ints([x.shape[dim] // 2] * 2)], outputs=2, axis=dim)
    g.bind(out, g.op("Mul", [first, g.op("Sigmoid", [second])]))


@symbolic("pixel_shuffle")
def _pixel_shuffle(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("DepthToSpace", [g.value(a["input"])], blocksize=int(a["upscale_factor"]), mode="CRD"))


@symbolic("addmm", "baddbmm", "addbmm")
def _addmm(g: Graph, a: dict, out: Any) -> None:
    m1, m2 = (a["mat1"], a["mat2"]) if "mat1" in a else (a["batch1"], a["batch2"])
    dtype = _dt(out)
    prod = g.op("MatMul", [g.value(m1), g.value(m2)])
    if g.current == "addbmm":
        prod = g.op("ReduceSum", [prod, g.ints([0])], keepdims=0)
    if a.get("alpha", 1) != 1:
        prod = g.op("Mul", [prod, g.const(a["alpha"], dtype)])
    base = g.value(a["input"], dtype)
    if a.get("beta", 1) != 1:
        base = g.op("Mul", [base, g.const(a["beta"], dtype)])
    g.bind(out, g.op("Add", [base, prod]) if a.get("beta", 1) != 0 else prod)


@symbolic("cumsum")
def _cumsum(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("CumSum", [g.value(a["input"], _dt(out)), g.const(np.int64(a["dim"]))]))


@symbolic("selu", "celu")
def _selu(g: Graph, a: dict, out: Any) -> None:
    x = g.value(a["input"])
    g.bind(out, g.op("Selu", [x]) if g.current == "selu" else g.op("Celu", [x], alpha=float(a["alpha"])))


@symbolic("softmin")
def _softmin(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    dim = a.get("dim")
    dim = (0 if x.dim() in (0, 1, 3) else 1) if dim is None else dim
    g.bind(out, g.op("Softmax", [g.op("Neg", [g.value(x, _dt(out))])], axis=int(dim)))


@symbolic("tanhshrink")
def _tanhshrink(g: Graph, a: dict, out: Any) -> None:
    x = g.value(a["input"])
    g.bind(out, g.op("Sub", [x, g.op("Tanh", [x])]))


@symbolic("threshold", "threshold_")
def _threshold(g: Graph, a: dict, out: Any) -> None:
    x, dtype = g.value(a["input"]), _dt(out)
    keep = g.op("Greater", [x, g.const(a["threshold"], dtype)])
    g.bind(out, g.op("Where", [keep, x, g.const(a["value"], dtype)]))


@symbolic("hardshrink", "softshrink")
def _shrink(g: Graph, a: dict, out: Any) -> None:
    lambd = float(a["lambd"])
    g.bind(out, g.op("Shrink", [g.value(a["input"])], lambd=lambd, bias=lambd if g.current == "softshrink" else 0.0))


@symbolic("rms_norm")
def _rms_norm(g: Graph, a: dict, out: Any) -> None:
    x, w = a["input"], a.get("weight")
    dtype, axes = _dt(out), list(range(-len(_tuple(a["normalized_shape"], 1)), 0))
    eps = a.get("eps")
    eps = float(np.finfo(dtype).eps) if eps is None else eps
    name = g.value(x)
    square = g.op("Mul", [name, name])
    mean = g.op("ReduceMean", [square, g.ints(axes)], keepdims=1) if g.opset >= 18 else \
        g.op("ReduceMean", [square], axes=axes, keepdims=1)
    res = g.op("Div", [name, g.op("Sqrt", [g.op("Add", [mean, g.const(eps, dtype)])])])
    g.bind(out, g.op("Mul", [res, g.value(w)]) if w is not None else res)


@symbolic("instance_norm")
def _instance_norm(g: Graph, a: dict, out: Any) -> None:
    x, w, b = a["input"], a.get("weight"), a.get("bias")
    if not a.get("use_input_stats", True):
        raise UnsupportedOperatorError("aten::instance_norm (running statistics)", g.opset, None)
    c, dtype = x.shape[1], _dt(x)
    scale = g.value(w) if w is not None else g.const(np.ones(c, dtype))
    bias = g.value(b) if b is not None else g.const(np.zeros(c, dtype))
    g.bind(out, g.op("InstanceNormalization", [g.value(x), scale, bias], epsilon=float(a["eps"])))


@symbolic("local_response_norm")
def _lrn(g: Graph, a: dict, out: Any) -> None:
    size = int(a["size"])
    if size % 2 == 0 or a["input"].dim() != 4:
        raise UnsupportedOperatorError("aten::local_response_norm (even size or not 4-d)", g.opset, None)
    g.bind(out, g.op("LRN", [g.value(a["input"])], size=size, alpha=float(a["alpha"]), beta=float(a["beta"]),
                     bias=float(a["k"])))


@symbolic("normalize")
def _normalize(g: Graph, a: dict, out: Any) -> None:
    x, p = g.value(a["input"]), a["p"]
    if p not in (1, 2):
        raise UnsupportedOperatorError(f"aten::normalize (p={p})", g.opset, None)
    norm = g.op("ReduceL2" if p == 2 else "ReduceL1", [x, g.ints([int(a["dim"])])], keepdims=1) \
        if g.opset >= 18 else g.op("ReduceL2" if p == 2 else "ReduceL1", [x], axes=[int(a["dim"])], keepdims=1)
    g.bind(out, g.op("Div", [x, g.op("Max", [norm, g.const(a["eps"], _dt(out))])]))


# ------------------------------------------------------------------ pooling, resizing, padding
def _pool_dims(g: Graph, a: dict) -> tuple[int, list[int], list[int], list[int]]:
    n = int(g.current[-2])
    kernel = _tuple(a["kernel_size"], n)
    stride = a.get("stride")
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, n)
    p = _tuple(a["padding"], n)
    return n, kernel, stride, p + p


@symbolic("max_pool1d", "max_pool2d", "max_pool3d")
def _max_pool(g: Graph, a: dict, out: Any) -> None:
    if a.get("return_indices"):
        raise UnsupportedOperatorError(f"aten::{g.current}_with_indices (return_indices=True)", g.opset, None)
    n, kernel, stride, pads = _pool_dims(g, a)
    g.bind(out, g.op("MaxPool", [g.value(a["input"])], ceil_mode=int(bool(a["ceil_mode"])),
                     dilations=_tuple(a["dilation"], n), kernel_shape=kernel, pads=pads, strides=stride))


@symbolic("avg_pool1d", "avg_pool2d", "avg_pool3d")
def _avg_pool(g: Graph, a: dict, out: Any) -> None:
    if a.get("divisor_override"):
        raise UnsupportedOperatorError(f"aten::{g.current} (divisor_override)", g.opset, None)
    n, kernel, stride, pads = _pool_dims(g, a)
    g.bind(out, g.op("AveragePool", [g.value(a["input"])], ceil_mode=int(bool(a["ceil_mode"])),
                     count_include_pad=int(bool(a["count_include_pad"])), kernel_shape=kernel, pads=pads,
                     strides=stride))


@symbolic("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
          "adaptive_max_pool2d", "adaptive_max_pool3d")
def _adaptive_pool(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    is_max = "max" in g.current
    if is_max and a.get("return_indices"):
        raise UnsupportedOperatorError(f"aten::{g.current} (return_indices=True)", g.opset, None)
    res = out[0] if isinstance(out, tuple) else out
    n = int(g.current[-2])
    ins, outs = list(x.shape[-n:]), list(res.shape[-n:])
    if all(o == 1 for o in outs):
        g.bind(res, g.op("GlobalMaxPool" if is_max else "GlobalAveragePool", [g.value(x)]))
    elif all(i % o == 0 for i, o in zip(ins, outs, strict=True)):
        kernel = [i // o for i, o in zip(ins, outs, strict=True)]
        g.bind(res, g.op("MaxPool" if is_max else "AveragePool", [g.value(x)], kernel_shape=kernel, strides=kernel))
    else:
        raise UnsupportedOperatorError(f"aten::{g.current} (output size not a divisor of the input size)",
                                       g.opset, None)


@symbolic("interpolate", "upsample", "upsample_nearest", "upsample_bilinear")
def _interpolate(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    mode = a.get("mode", "nearest")
    if g.current == "upsample_bilinear":
        mode, a["align_corners"] = "bilinear", True
    if a.get("antialias"):
        raise UnsupportedOperatorError("aten::_upsample_bilinear2d_aa (antialias)", g.opset, None)
    if mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    elif mode in ("linear", "bilinear", "trilinear", "bicubic"):
        attrs = {"mode": "cubic" if mode == "bicubic" else "linear",
                 "coordinate_transformation_mode": "align_corners" if a.get("align_corners") else
                 "pytorch_half_pixel"}
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
    else:
        raise UnsupportedOperatorError(f"aten::upsample_{mode}", g.opset, None)
    sf = a.get("scale_factor")
    n = x.dim() - 2
    if sf is not None and not a.get("recompute_scale_factor"):
        scales = g.const(np.asarray([1.0, 1.0] + [float(s) for s in _tuple(sf, n)], np.float32))
        g.bind(out, g.op("Resize", [g.value(x), None, scales], **attrs))
        return
    lead = g.op("Slice", [g.op("Shape", [g.value(x)]), g.ints([0]), g.ints([2])])
    sizes = g.op("Concat", [lead, g.ints(out.shape[2:])], axis=0)
    g.bind(out, g.op("Resize", [g.value(x), None, None, sizes], **attrs))


@symbolic("pad")
def _pad(g: Graph, a: dict, out: Any) -> None:
    x, pad = a["input"], list(a["pad"])
    ndim = x.dim()
    begins, ends = [0] * ndim, [0] * ndim
    for i in range(len(pad) // 2):
        begins[ndim - 1 - i], ends[ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[a["mode"]]
    if mode == "wrap" and g.opset < 19:
        raise UnsupportedOperatorError("aten::pad (circular)", g.opset, 19)
    value = a.get("value")
    ins = [g.value(x), g.ints(begins + ends)]
    if mode == "constant":
        ins.append(g.const(0 if value is None else value, _dt(x)))
    g.bind(out, g.op("Pad", ins, mode=mode))


# ------------------------------------------------------------------ reductions
def _reduce(onnx_op: str) -> Callable:
    def fn(g: Graph, a: dict, out: Any) -> None:
        x = a["input"]
        res = out[0] if isinstance(out, tuple) else out
        dim = a.get("dim", a.get("axis"))
        keep = int(bool(a.get("keepdim", False)))
        name = g.value(x, _dt(res) if onnx_op in ("ReduceMean", "ReduceSum") else None)
        axes = _dims(dim, x.dim())
        if onnx_op == "ReduceSum" or g.opset >= 18:
            red = g.op(onnx_op, [name, g.ints(axes)], keepdims=keep)
        else:
            red = g.op(onnx_op, [name], axes=axes, keepdims=keep)
        g.bind(res, red)
        if isinstance(out, tuple) and len(out) == 2:       # max/min along a dim: (values, indices)
            arg = "ArgMax" if onnx_op == "ReduceMax" else "ArgMin"
            g.bind(out[1], g.op(arg, [name], axis=axes[0], keepdims=keep, select_last_index=0))
    return fn


SYMBOLICS.update({"mean": _reduce("ReduceMean"), "sum": _reduce("ReduceSum"), "amax": _reduce("ReduceMax"),
                  "amin": _reduce("ReduceMin"), "max": _reduce("ReduceMax"), "min": _reduce("ReduceMin"),
                  "prod": _reduce("ReduceProd")})


@symbolic("argmax", "argmin")
def _argmax(g: Graph, a: dict, out: Any) -> None:
    x, dim = a["input"], a.get("dim")
    name = g.value(x)
    if dim is None:
        name, dim = g.op("Reshape", [name, g.ints([-1])]), 0
    g.bind(out, g.op("ArgMax" if g.current == "argmax" else "ArgMin", [name], axis=int(dim),
                     keepdims=int(bool(a.get("keepdim")))))


# ------------------------------------------------------------------ shapes and views
def _reshape_to(g: Graph, x: Tensor, shape: list[int], requested: list[int] | None = None) -> str:
    """Reshape ``x`` to ``shape``; a dim equal to the input's at the same position is written 0 (copy) and a
    requested -1 kept, so the graph stays valid when a dynamic axis changes."""
    target = list(requested) if requested is not None and requested.count(-1) == 1 else list(shape)
    dims = [0 if i < x.dim() and t != -1 and t == x.shape[i] else t for i, t in enumerate(target)]
    if -1 not in dims and dims.count(0) == len(dims) - 1 and x.dim() >= len(dims):
        dims[dims.index(next(d for d in dims if d != 0))] = -1
    return g.op("Reshape", [g.value(x), g.ints(dims)])


def _shape_arg(a: dict) -> list[int] | None:
    shape = a.get("shape", a.get("size"))
    if isinstance(shape, tuple) and len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    if isinstance(shape, (tuple, list)) and all(isinstance(s, int) for s in shape):
        return [int(s) for s in shape]
    return None


@symbolic("view", "reshape", "view_as", "reshape_as")
def _view(g: Graph, a: dict, out: Any) -> None:
    if _dt(out) != _dt(a["input"]):
        raise UnsupportedOperatorError("aten::view (dtype)", g.opset, None)
    g.bind(out, _reshape_to(g, a["input"], list(out.shape), _shape_arg(a)))


@symbolic("flatten")
def _flatten(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    nd = max(x.dim(), 1)
    start, end = a.get("start_dim", 0) % nd, a.get("end_dim", -1) % nd
    if end == nd - 1 and start <= 1 and x.dim() > 1:
        g.bind(out, g.op("Flatten", [g.value(x)], axis=start))
        return
    requested = list(x.shape[:start]) + [-1] + list(x.shape[end + 1:])
    g.bind(out, _reshape_to(g, x, list(out.shape), requested))


@symbolic("unflatten")
def _unflatten(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, _reshape_to(g, a["input"], list(out.shape)))


@symbolic("transpose", "swapaxes", "swapdims", "t", "T", "mT", "permute", "movedim", "moveaxis")
def _transpose(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    nd = x.dim()
    name = g.current
    if name in ("transpose", "swapaxes", "swapdims"):
        d0, d1 = (a.get("dim0", a.get("axis0")), a.get("dim1", a.get("axis1")))
        perm = list(range(nd))
        perm[d0 % nd], perm[d1 % nd] = perm[d1 % nd], perm[d0 % nd]
    elif name in ("t", "T"):
        perm = list(range(nd))[::-1]
    elif name == "mT":
        perm = list(range(nd))
        perm[-2], perm[-1] = perm[-1], perm[-2]
    elif name == "permute":
        dims = a["dims"]
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        perm = [d % nd for d in dims]
    else:
        src, dst = _tuple(a["source"], 1), _tuple(a["destination"], 1)
        src, dst = [s % nd for s in src], [d % nd for d in dst]
        rest = [d for d in range(nd) if d not in src]
        perm = [0] * nd
        for s, d in zip(src, dst, strict=True):
            perm[d] = s
        it = iter(rest)
        for i in range(nd):
            if i not in dst:
                perm[i] = next(it)
    if perm == list(range(nd)):
        _alias(g, a, out)
        return
    g.bind(out, g.op("Transpose", [g.value(x)], perm=perm))


@symbolic("squeeze")
def _squeeze(g: Graph, a: dict, out: Any) -> None:
    x, dim = a["input"], a.get("dim")
    axes = [d for d in range(x.dim()) if x.shape[d] == 1] if dim is None else \
        [d for d in _dims(dim, x.dim()) if x.shape[d] == 1]
    if not axes:
        _alias(g, a, out)
        return
    g.bind(out, g.op("Squeeze", [g.value(x), g.ints(axes)]))


@symbolic("unsqueeze")
def _unsqueeze(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("Unsqueeze", [g.value(a["input"]), g.ints([a["dim"] % out.dim()])]))


@symbolic("expand", "expand_as", "broadcast_to")
def _expand(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    if g.current == "expand_as" and g.traced(a["other"]):
        g.bind(out, g.op("Expand", [g.value(x), g.op("Shape", [g.value(a["other"])])]))
        return
    offset = out.dim() - x.dim()
    shape = [1 if i >= offset and x.shape[i - offset] == s else s for i, s in enumerate(out.shape)]
    g.bind(out, g.op("Expand", [g.value(x), g.ints(shape)]))


@symbolic("repeat")
def _repeat(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    reps = _shape_arg({"shape": a["repeats"] if "repeats" in a else a.get("sizes")}) or []
    name = g.value(x)
    if len(reps) > x.dim():
        name = g.op("Reshape", [name, g.ints([1] * (len(reps) - x.dim()) + list(x.shape))])
    g.bind(out, g.op("Tile", [name, g.ints(reps)]))


@symbolic("cat", "concat", "concatenate")
def _cat(g: Graph, a: dict, out: Any) -> None:
    tensors = [t for t in a["input"] if not (t.dim() == 1 and t.shape[0] == 0)]
    dim = a.get("dim", a.get("axis", 0))
    g.bind(out, g.op("Concat", [g.value(t, _dt(out)) for t in tensors], axis=int(dim) % out.dim()))


@symbolic("stack")
def _stack(g: Graph, a: dict, out: Any) -> None:
    dim = int(a.get("dim", 0)) % out.dim()
    parts = [g.op("Unsqueeze", [g.value(t, _dt(out)), g.ints([dim])]) for t in a["input"]]
    g.bind(out, g.op("Concat", parts, axis=dim))


@symbolic("split", "chunk", "tensor_split", "split_with_sizes", "unbind")
def _split(g: Graph, a: dict, out: Any) -> None:
    x = a["input"]
    dim = int(a.get("dim", 0)) % x.dim()
    sizes = [o.shape[dim] if g.current != "unbind" else 1 for o in out]
    outs = g.op("Split", [g.value(x), g.ints(sizes)], outputs=len(out), axis=dim)
    outs = [outs] if isinstance(outs, str) else outs
    for o, name in zip(out, outs, strict=True):
        g.bind(o, g.op("Squeeze", [name, g.ints([dim])]) if g.current == "unbind" else name)


@symbolic("__getitem__")
def _getitem(g: Graph, a: dict, out: Any) -> None:
    x, key = a["input"], a["key"]
    items = list(key) if isinstance(key, tuple) else [key]
    explicit = sum(1 for k in items if k is not None and k is not Ellipsis)
    expanded: list = []
    for k in items:
        expanded.extend([slice(None)] * (x.dim() - explicit) if k is Ellipsis else [k])
    slices, gathers, indexes, news = [], [], [], []
    d = o = 0
    for k in expanded:
        if k is None:
            news.append(o)
            o += 1
        elif isinstance(k, bool):
            raise UnsupportedOperatorError("aten::index (boolean index)", g.opset, None)
        elif isinstance(k, int):
            gathers.append((d, k))
            d += 1
        elif isinstance(k, slice):
            step = 1 if k.step is None else k.step
            if (k.start, k.stop, step) != (None, None, 1):
                start = k.start if k.start is not None else 0
                slices.append((d, start, _INT64_MAX if k.stop is None else k.stop, step))
            d, o = d + 1, o + 1
        elif isinstance(k, Tensor) or isinstance(k, (list, range)):
            indexes.append((d, k))
            d, o = d + 1, o + 1
        else:
            raise SymbolicValueError(f"ONNX export does not support indexing with {type(k).__name__}")
    if len(indexes) > 1 or indexes and news and getattr(indexes[0][1], "ndim", 1) != 1:
        raise UnsupportedOperatorError("aten::index (several index tensors, or one not 1-d beside None)",
                                       g.opset, None)
    name = src = g.value(x)
    if slices:
        axis, starts, ends, steps = zip(*slices, strict=True)
        name = g.op("Slice", [name, g.ints(starts), g.ints(ends), g.ints(axis), g.ints(steps)])
    for axis, idx in indexes:
        ind = g.value(idx) if isinstance(idx, Tensor) else g.ints(list(idx))
        if isinstance(idx, Tensor) and _dt(idx) == np.bool_:
            raise UnsupportedOperatorError("aten::index (boolean mask)", g.opset, None)
        name = g.op("Gather", [name, ind], axis=axis)
    for axis, i in sorted(gathers, reverse=True):
        name = g.op("Gather", [name, g.const(np.int64(i))], axis=axis)
    if news:
        name = g.op("Unsqueeze", [name, g.ints(news)])
    g.bind(out, name if name != src else g.op("Identity", [src]))


@symbolic("tril", "triu")
def _tril(g: Graph, a: dict, out: Any) -> None:
    g.bind(out, g.op("Trilu", [g.value(a["input"]), g.const(np.int64(a.get("diagonal", 0)))],
                     upper=int(g.current == "triu")))


# ------------------------------------------------------------------ recurrent layers (recorded per module)
def recurrent(g: Graph, module: Any, args: tuple, output: Any) -> None:
    """nn.LSTM / nn.GRU as ONNX LSTM / GRU nodes, one per layer (gates reordered to ONNX's iofc / zrh)."""
    kind = type(module).__name__
    x = args[0]
    if x.dim() != 3 or getattr(module, "proj_size", 0):
        raise UnsupportedOperatorError(f"aten::{kind.lower()} (unbatched input or proj_size)", g.opset, None)
    is_lstm = kind == "LSTM"
    state = args[1] if len(args) > 1 else None
    h0, c0 = (state if state is not None else (None, None)) if is_lstm else (state, None)
    hid, dirs = module.hidden_size, 2 if module.bidirectional else 1
    gates = 4 if is_lstm else 3
    order = [0, 3, 1, 2] if is_lstm else [1, 0, 2]   # torch ifgo → onnx iofc; torch rzn → onnx zrn

    def reorder(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w[i * hid:(i + 1) * hid] for i in order], axis=0)

    name = g.value(x)
    if module.batch_first:
        name = g.op("Transpose", [name], perm=[1, 0, 2])
    dtype = _dt(x)
    hs, cs = [], []
    for layer in range(module.num_layers):
        ws, rs, bs = [], [], []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            ws.append(reorder(to_numpy(getattr(module, "weight_ih" + sfx))))
            rs.append(reorder(to_numpy(getattr(module, "weight_hh" + sfx))))
            if module.bias:
                bs.append(np.concatenate([reorder(to_numpy(getattr(module, "bias_ih" + sfx))),
                                          reorder(to_numpy(getattr(module, "bias_hh" + sfx)))]))
            else:
                bs.append(np.zeros(2 * gates * hid, dtype))
        ins = [name, g.const(np.stack(ws)), g.const(np.stack(rs)), g.const(np.stack(bs)), None]
        sl = [g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]), g.ints([0])]
        ins.append(g.op("Slice", [g.value(h0), *sl]) if h0 is not None else None)
        if is_lstm:
            ins.append(g.op("Slice", [g.value(c0), *sl]) if c0 is not None else None)
        attrs = {"direction": "bidirectional" if dirs == 2 else "forward", "hidden_size": hid}
        if not is_lstm:
            attrs["linear_before_reset"] = 1
        outs = g.op(kind, ins, outputs=3 if is_lstm else 2, **attrs)
        y = g.op("Transpose", [outs[0]], perm=[0, 2, 1, 3])              # [seq, batch, dirs, hid]
        name = g.op("Reshape", [y, g.ints([0, 0, -1])])
        hs.append(outs[1])
        if is_lstm:
            cs.append(outs[2])
    y, state_out = output
    g.bind(y, g.op("Transpose", [name], perm=[1, 0, 2]) if module.batch_first else name)
    h_out = hs[0] if len(hs) == 1 else g.op("Concat", hs, axis=0)
    if is_lstm:
        g.bind(state_out[0], h_out)
        g.bind(state_out[1], cs[0] if len(cs) == 1 else g.op("Concat", cs, axis=0))
    else:
        g.bind(state_out, h_out)


# ------------------------------------------------------------------ user symbolics
class Value:
    """What a custom symbolic function receives for a traced tensor and returns from ``g.op``."""

    def __init__(self, name: str, tensor: Tensor | None = None) -> None:
        self.name, self.tensor = name, tensor

    def debugName(self) -> str:   # noqa: N802  (torch._C.Value's method name)
        return self.name

    def __repr__(self) -> str:
        return f"Value({self.name!r})"


class GraphContext:
    """The ``g`` of a custom symbolic: ``g.op("Domain::Op", *inputs, attr_i=..., attr_f=..., outputs=n)``
    with torch's attribute suffixes (_i, _f, _s, _t, _is, _fs, _ss)."""

    def __init__(self, graph: Graph) -> None:
        self._g = graph
        self.opset = graph.opset

    def op(self, opname: str, *raw_args: Any, outputs: int = 1, **kwargs: Any) -> Any:
        domain, _, op_type = opname.rpartition("::")
        domain = "" if domain == "onnx" else domain
        ins = [a.name if isinstance(a, Value) else None if a is None else self._g.value(a) for a in raw_args]
        attrs = {}
        for key, v in kwargs.items():
            base, _, suffix = key.rpartition("_")
            if suffix in ("i", "f", "s", "t", "is", "fs", "ss", "ts") and base:
                key = base
                if suffix == "t" and isinstance(v, Tensor):
                    import onnx
                    v = onnx.numpy_helper.from_array(to_numpy(v))
            attrs[key] = v
        outs = self._g.op(op_type, ins, outputs=outputs, domain=domain, **attrs)
        return tuple(Value(o) for o in outs) if outputs > 1 else Value(outs)


def run_custom(g: Graph, fn: Callable, args: tuple, kwargs: dict, out: Any) -> None:
    def wrap(v: Any) -> Any:
        if g.traced(v) or isinstance(v, Tensor):
            return Value(g.value(v), v)
        if isinstance(v, (list, tuple)):
            return type(v)(wrap(i) for i in v)
        return v
    res = fn(GraphContext(g), *[wrap(v) for v in args], **{k: wrap(v) for k, v in kwargs.items()})
    produced = [r for r in flatten(res) if isinstance(r, Value)]
    tensors = [t for t in flatten(out) if isinstance(t, Tensor)]
    if len(produced) != len(tensors):
        raise SymbolicValueError(f"the custom symbolic returned {len(produced)} values for {len(tensors)} outputs")
    for t, v in zip(tensors, produced, strict=True):
        g.bind(t, v.name)
