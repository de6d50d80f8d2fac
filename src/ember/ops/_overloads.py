"""torch's overloads of the most used functions and methods, as its argument parser sees them (see
:mod:`._signature`): only their errors depend on this table. Keys are the public names (``ember.<name>`` and
``Tensor.<name>``); a ``(functions, methods)`` pair gives the method overloads where they differ from the
function's less its leading tensor (and ``out=``, which methods never take)."""

from __future__ import annotations

_FACTORY = "Tensor out=None, ScalarType? dtype=None, Layout? layout=None, Device? device=None, " \
           "bool? pin_memory=False, bool requires_grad=False"
_LIKE = "MemoryFormat? memory_format=None, ScalarType? dtype=None, Layout? layout=None, Device? device=None, " \
        "bool? pin_memory=False, bool requires_grad=False"
_NEW = "ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=False, " \
       "bool requires_grad=False"


def _reduce_all(name: str) -> tuple[str, ...]:
    return (f"{name}(Tensor input, *, Tensor out=None)",
            f"{name}(Tensor input, int[]? dim=None, bool keepdim=False, *, Tensor out=None)",
            f"{name}(Tensor input, int dim, bool keepdim=False, *, Tensor out=None)")


def _max(name: str) -> tuple[str, ...]:
    return (f"{name}(Tensor input, *, Tensor out=None)", f"{name}(Tensor input, Tensor other, *, Tensor out=None)",
            f"{name}(Tensor input, int dim, bool keepdim=False, *, Tensor[] out=None)")


def _moments(name: str) -> tuple[str, ...]:
    return (f"{name}(Tensor input, int[1]? dim, bool unbiased=True, bool keepdim=False, *, Tensor out=None)",
            f"{name}(Tensor input, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False, "
            "Tensor out=None)",
            f"{name}(Tensor input, bool unbiased=True)")


def _space(name: str, base: str = "") -> tuple[str, ...]:
    return tuple(f"{name}({s} start, {e} end, int steps, {base}*, {_FACTORY})"
                 for s, e in (("Tensor", "Tensor"), ("Scalar", "Tensor"), ("Tensor", "Scalar"), ("Scalar", "Scalar")))


def _random(name: str, lead: str) -> tuple[str, ...]:
    return (f"{name}({lead}, *, Generator? generator, {_FACTORY})", f"{name}({lead}, *, {_FACTORY})")


def _binary(name: str, *forms: str, other: str = "other") -> tuple[str, ...]:
    """A binary op's overloads: ``forms`` among "TT" (two tensors), "TS"/"ST" (a number second/first) and
    "TS-"/"ST-" (those without ``out=``)."""
    kinds = {"TT": f"Tensor input, Tensor {other}", "TS": f"Tensor input, Scalar {other}",
             "ST": f"Scalar self, Tensor {other}"}
    return tuple(f"{name}({kinds[f[:2]]}{'' if f.endswith('-') else ', *, Tensor out=None'})" for f in forms)


def _alpha(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """add/sub: ``alpha`` by keyword, or (deprecated) a number before ``other``."""
    return ((f"{name}(Tensor input, Tensor other, *, Scalar alpha=1, Tensor out=None)",
             f"~{name}(Tensor input, Scalar alpha, Tensor other, *, Tensor out=None)"),
            (f"{name}(Tensor other, *, Scalar alpha=1)", f"~{name}(Scalar alpha, Tensor other)"))


def _pointwise(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """addcmul/addcdiv: ``value`` by keyword, or (deprecated) a number before the tensors."""
    return ((f"{name}(Tensor input, Tensor tensor1, Tensor tensor2, *, Scalar value=1, Tensor out=None)",
             f"~{name}(Tensor input, Scalar value, Tensor tensor1, Tensor tensor2, *, Tensor out=None)"),
            (f"{name}(Tensor tensor1, Tensor tensor2, *, Scalar value=1)",
             f"~{name}(Scalar value, Tensor tensor1, Tensor tensor2)"))


def _scaled_product(name: str, a: str, b: str, out_dtype: bool = False) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """addmm, addmv, addr, addbmm, baddbmm: ``beta``/``alpha`` by keyword, or (deprecated) numbers around
    ``input`` (functions) or before the operands (methods)."""
    scales = "*, Scalar beta=1, Scalar alpha=1"
    current = [f"{name}(Tensor input, Tensor {a}, Tensor {b}, {scales}, Tensor out=None)"]
    if out_dtype:
        current.append(f"{name}(Tensor input, Tensor {a}, Tensor {b}, ScalarType out_dtype, {scales}, Tensor out=None)")
    return ((*current, f"~{name}(Scalar beta, Tensor input, Scalar alpha, Tensor {a}, Tensor {b}, *, Tensor out=None)",
             f"~{name}(Scalar beta, Tensor input, Tensor {a}, Tensor {b}, *, Tensor out=None)"),
            (f"{name}(Tensor {a}, Tensor {b}, {scales})", f"~{name}(Scalar beta, Scalar alpha, Tensor {a}, Tensor {b})",
             f"~{name}(Scalar beta, Tensor {a}, Tensor {b})"))


_ROUNDING = "Tensor input, Tensor other, *, str? rounding_mode, Tensor out=None"
OVERLOADS: dict[str, tuple[str, ...] | tuple[tuple[str, ...], tuple[str, ...]]] = {
    # binary arithmetic, comparisons, bitwise
    "add": _alpha("add"), "sub": _alpha("sub"),
    "add_": ((), _alpha("add_")[1]), "sub_": ((), _alpha("sub_")[1]),
    "subtract": ("subtract(Tensor input, Tensor other, *, Scalar alpha=1, Tensor out=None)",
                 "subtract(Tensor input, Scalar other, Scalar alpha=1)"),
    "addcmul": _pointwise("addcmul"), "addcdiv": _pointwise("addcdiv"),
    "addmm": _scaled_product("addmm", "mat1", "mat2", True), "addmv": _scaled_product("addmv", "mat", "vec"),
    "addr": _scaled_product("addr", "vec1", "vec2"), "addbmm": _scaled_product("addbmm", "batch1", "batch2"),
    "baddbmm": _scaled_product("baddbmm", "batch1", "batch2", True),
    "addcmul_": ((), _pointwise("addcmul_")[1]), "addcdiv_": ((), _pointwise("addcdiv_")[1]),
    "mul": _binary("mul", "TT"),
    "div": (*_binary("div", "TT"), f"div({_ROUNDING})", "div(Tensor input, Scalar other, *, str? rounding_mode)"),
    "divide": (*_binary("divide", "TT"), f"divide({_ROUNDING})", "divide(Tensor input, Scalar other)",
               "divide(Tensor input, Scalar other, *, str? rounding_mode)"),
    **{name: _binary(name, "TT", "TS-") for name in ("true_divide", "floor_divide", "multiply")},
    **{name: _binary(name, "TT", "ST", "TS", other="exponent") for name in ("pow", "float_power")},
    "xlogy": _binary("xlogy", "TT", "ST", "TS"),
    "remainder": _binary("remainder", "TT", "ST-", "TS"),
    **{name: _binary(name, "TT", "ST-", "TS") for name in (
        "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift")},
    **{name: _binary(name, "TT", "TS") for name in (
        "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
        "copysign", "fmod")},
    **{name: _binary(name, "TT") for name in (
        "atan2", "arctan2", "maximum", "minimum", "fmax", "fmin", "hypot", "logaddexp", "logaddexp2", "nextafter",
        "ldexp", "gcd", "lcm", "logical_and", "logical_or", "logical_xor", "kron", "vdot")},
    "lerp": ("lerp(Tensor input, Tensor end, Tensor weight, *, Tensor out=None)",
             "lerp(Tensor input, Tensor end, Scalar weight, *, Tensor out=None)"),
    "lerp_": ((), ("lerp_(Tensor end, Tensor weight)", "lerp_(Tensor end, Scalar weight)")),
    "renorm": ("renorm(Tensor input, Scalar p, int dim, Scalar maxnorm, *, Tensor out=None)",),
    "renorm_": ((), ("renorm_(Scalar p, int dim, Scalar maxnorm)",)),
    "inner": _binary("inner", "TT"),
    "matrix_power": ("matrix_power(Tensor input, int n, *, Tensor out=None)",),
    "take": _binary("take", "TT", other="index"),
    "take_along_dim": ("take_along_dim(Tensor input, Tensor indices, int? dim=None, *, Tensor out=None)",),
    "put": ("put(Tensor input, Tensor index, Tensor source, bool accumulate=False)",),
    "put_": ((), ("put_(Tensor index, Tensor source, bool accumulate=False)",)),
    "masked_scatter": ("masked_scatter(Tensor input, Tensor mask, Tensor source)",),
    "masked_scatter_": ((), ("masked_scatter_(Tensor mask, Tensor source)",)),
    "diff": ("diff(Tensor input, int n=1, int dim=-1, Tensor? prepend=None, Tensor? append=None, *, "
             "Tensor out=None)",),
    "fill_diagonal_": ((), ("fill_diagonal_(Scalar fill_value, bool wrap=False)",)),
    "heaviside": _binary("heaviside", "TT", other="values"),
    "dot": _binary("dot", "TT", other="tensor"),
    "outer": _binary("outer", "TT", other="vec2"),
    "mv": _binary("mv", "TT", other="vec"),
    "cross": ("cross(Tensor input, Tensor other, int? dim=None, *, Tensor out=None)",),
    "dist": ("dist(Tensor input, Tensor other, Scalar p=2)",),
    "equal": ("equal(Tensor input, Tensor other)",),
    **{name: (f"{name}(Tensor input, Tensor other, float rtol=1e-05, float atol=1e-08, bool equal_nan=False)",)
       for name in ("isclose", "allclose")},
    # reductions
    "sum": ("sum(Tensor input, *, ScalarType? dtype=None)",
            "sum(Tensor input, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None, Tensor out=None)"),
    "mean": ("mean(Tensor input, *, ScalarType? dtype=None, Tensor out=None)",
             "mean(Tensor input, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None, Tensor out=None)"),
    "prod": ("prod(Tensor input, *, ScalarType? dtype=None)",
             "prod(Tensor input, int dim, bool keepdim=False, *, ScalarType? dtype=None, Tensor out=None)"),
    "max": _max("max"), "min": _max("min"), "std": _moments("std"), "var": _moments("var"),
    "all": _reduce_all("all"), "any": _reduce_all("any"),
    "nansum": ("nansum(Tensor input, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None, "
               "Tensor out=None)",),
    "nanmean": ("nanmean(Tensor input, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None, "
                "Tensor out=None)",),
    "argmax": ("argmax(Tensor input, int? dim=None, bool keepdim=False, *, Tensor out=None)",),
    "argmin": ("argmin(Tensor input, int? dim=None, bool keepdim=False, *, Tensor out=None)",),
    "amax": ("amax(Tensor input, int[1] dim=[], bool keepdim=False, *, Tensor out=None)",),
    "amin": ("amin(Tensor input, int[1] dim=[], bool keepdim=False, *, Tensor out=None)",),
    "logsumexp": ("logsumexp(Tensor input, int[1] dim, bool keepdim=False, *, Tensor out=None)",),
    "cumsum": ("cumsum(Tensor input, int dim, *, ScalarType? dtype=None, Tensor out=None)",),
    "cumprod": ("cumprod(Tensor input, int dim, *, ScalarType? dtype=None, Tensor out=None)",),
    "softmax": ("softmax(Tensor input, int dim, ScalarType? dtype=None, *, Tensor out=None)",),
    "log_softmax": ("log_softmax(Tensor input, int dim, ScalarType? dtype=None, *, Tensor out=None)",),
    # views and shapes
    "view": ((), ("view(ScalarType dtype)", "view(SymInt[] size)")),
    "reshape": ("reshape(Tensor input, SymInt[] shape)",),
    "permute": ("permute(Tensor input, int[] dims)",),
    "transpose": ("transpose(Tensor input, int dim0, int dim1)",),
    "swapaxes": ("swapaxes(Tensor input, int axis0, int axis1)",),
    "expand": ((), ("expand(SymInt[] size, *, bool implicit=False)",)),
    "repeat": ((), ("repeat(SymInt[] repeats)",)),
    "squeeze": ("squeeze(Tensor input)", "squeeze(Tensor input, int dim)", "squeeze(Tensor input, int[] dim)"),
    "squeeze_": ((), ("squeeze_()", "squeeze_(int dim)", "squeeze_(int[] dim)")),
    "nonzero": ((), ("nonzero()", "nonzero(*, bool as_tuple)")),
    "to_dense": ((), ("to_dense(ScalarType? dtype=None, *, bool? masked_grad=None)",)),
    "unsqueeze": ("unsqueeze(Tensor input, int dim)",),
    "unsqueeze_": ((), ("unsqueeze_(int dim)",)),
    "transpose_": ((), ("transpose_(int dim0, int dim1)",)),
    "swapdims": ("swapdims(Tensor input, int dim0, int dim1)",),
    "swapdims_": ((), ("swapdims_(int dim0, int dim1)",)),
    "swapaxes_": ((), ("swapaxes_(int axis0, int axis1)",)),
    "unfold": ((), ("unfold(int dimension, int size, int step)",)),
    "flatten": ("flatten(Tensor input, int start_dim=0, int end_dim=-1)",),
    "cat": ("cat(Tensor[] tensors, int dim=0, *, Tensor out=None)",),
    "stack": ("stack(Tensor[] tensors, int dim=0, *, Tensor out=None)",),
    "chunk": ("chunk(Tensor input, int chunks, int dim=0)",),
    "roll": ("roll(Tensor input, SymInt[1] shifts, int[1] dims=[])",),
    "flip": ("flip(Tensor input, int[] dims)",),
    "tile": ("tile(Tensor input, SymInt[] dims)",),
    "tril": ("tril(Tensor input, int diagonal=0, *, Tensor out=None)",),
    "triu": ("triu(Tensor input, int diagonal=0, *, Tensor out=None)",),
    "tril_": ((), ("tril_(int diagonal=0)",)),
    "triu_": ((), ("triu_(int diagonal=0)",)),
    "unflatten": (("unflatten(Tensor input, int dim, SymInt[] sizes)",),
                  ("Tensor.unflatten/unflatten(int dim, SymInt[] sizes)",)),
    "split_with_sizes": ("split_with_sizes(Tensor input, SymInt[] split_sizes, int dim=0)",),
    "unsafe_split": ("unsafe_split(Tensor input, SymInt split_size, int dim=0)",),
    "unsafe_split_with_sizes": ("unsafe_split_with_sizes(Tensor input, SymInt[] split_sizes, int dim=0)",),
    "diagonal": ("diagonal(Tensor input, int offset=0, int dim1=0, int dim2=1)",),
    "view_as": ((), ("view_as(Tensor other)",)),
    "reshape_as": ((), ("reshape_as(Tensor other)",)),
    "expand_as": ((), ("expand_as(Tensor other)",)),
    "t": ("t(Tensor input)",),
    "contiguous": ((), ("contiguous(*, MemoryFormat memory_format=torch.contiguous_format)",)),
    "clone": ("clone(Tensor input, *, MemoryFormat? memory_format=None)",),
    "detach": ("detach(Tensor input)",),
    "narrow": ("narrow(Tensor input, int dim, Tensor start, SymInt length)",
               "narrow(Tensor input, int dim, SymInt start, SymInt length)"),
    "narrow_copy": ("narrow_copy(Tensor input, int dim, SymInt start, SymInt length, *, Tensor out=None)",),
    "select": ("select(Tensor input, int dim, SymInt index)",),
    "unbind": ("unbind(Tensor input, int dim=0)",),
    "movedim": ("movedim(Tensor input, int source, int destination)",
                "movedim(Tensor input, int[] source, int[] destination)"),
    # indexing
    "gather": ("gather(Tensor input, int dim, Tensor index, *, bool sparse_grad=False, Tensor out=None)",),
    "index_add": ("index_add(Tensor input, int dim, Tensor index, Tensor source, *, Scalar alpha=1, "
                  "Tensor out=None)",),
    "index_add_": ((), ("index_add_(int dim, Tensor index, Tensor source, *, Scalar alpha=1)",)),
    "index_select": ("index_select(Tensor input, int dim, Tensor index, *, Tensor out=None)",),
    "scatter": ("scatter(Tensor input, int dim, Tensor index, Tensor src, *, Tensor out=None)",
                "scatter(Tensor input, int dim, Tensor index, Tensor src, *, str reduce, Tensor out=None)",
                "scatter(Tensor input, int dim, Tensor index, Scalar value, *, Tensor out=None)",
                "scatter(Tensor input, int dim, Tensor index, Scalar value, *, str reduce, Tensor out=None)"),
    "scatter_": ((), ("scatter_(int dim, Tensor index, Tensor src)", "scatter_(int dim, Tensor index, Tensor src, *, "
                      "str reduce)", "scatter_(int dim, Tensor index, Scalar value)",
                      "scatter_(int dim, Tensor index, Scalar value, *, str reduce)")),
    "scatter_add": ("scatter_add(Tensor input, int dim, Tensor index, Tensor src, *, Tensor out=None)",),
    "scatter_add_": ((), ("scatter_add_(int dim, Tensor index, Tensor src)",)),
    "scatter_reduce": ("scatter_reduce(Tensor input, int dim, Tensor index, Tensor src, str reduce, *, "
                       "bool include_self=True, Tensor out=None)",),
    "scatter_reduce_": ((), ("scatter_reduce_(int dim, Tensor index, Tensor src, str reduce, *, "
                             "bool include_self=True)",)),
    "masked_fill": ("masked_fill(Tensor input, Tensor mask, Tensor value)",
                    "masked_fill(Tensor input, Tensor mask, Scalar value)"),
    "where": (("where(Tensor condition)", "where(Tensor condition, Tensor input, Tensor other, *, Tensor out=None)",
               "where(Tensor condition, Scalar self, Tensor other)",
               "where(Tensor condition, Tensor input, Scalar other)",
               "where(Tensor condition, Scalar self, Scalar other)"),
              ("where(Tensor self, Tensor condition, Tensor other)",
               "where(Tensor self, Tensor condition, Scalar other)")),
    "masked_select": ("masked_select(Tensor input, Tensor mask, *, Tensor out=None)",),
    "repeat_interleave": (("repeat_interleave(Tensor input, Tensor repeats, int? dim=None, *, "
                           "SymInt? output_size=None)",
                           "repeat_interleave(Tensor repeats, *, SymInt? output_size=None)",
                           "repeat_interleave(Tensor input, SymInt repeats, int? dim=None, *, "
                           "SymInt? output_size=None)"),
                          ("repeat_interleave(Tensor repeats, int? dim=None, *, SymInt? output_size=None)",
                           "repeat_interleave(SymInt repeats, int? dim=None, *, SymInt? output_size=None)")),
    "clamp": ("clamp(Tensor input, Tensor? min=None, Tensor? max=None, *, Tensor out=None)",
              "clamp(Tensor input, Scalar? min=None, Scalar? max=None, *, Tensor out=None)"),
    "index_fill": ("index_fill(Tensor input, int dim, Tensor index, Tensor value)",
                   "index_fill(Tensor input, int dim, Tensor index, Scalar value)"),
    # elementwise with parameters
    "round": ("round(Tensor input, *, Tensor out=None)", "round(Tensor input, *, int decimals, Tensor out=None)"),
    "round_": ("round_(Tensor input)", "round_(Tensor input, *, int decimals)"),
    "nan_to_num": ("nan_to_num(Tensor input, float? nan=None, float? posinf=None, float? neginf=None, *, "
                   "Tensor out=None)",),
    "nan_to_num_": ("nan_to_num_(Tensor input, float? nan=None, float? posinf=None, float? neginf=None)",),
    "mvlgamma": ("mvlgamma(Tensor input, int p, *, Tensor out=None)",),
    "mvlgamma_": ((), ("mvlgamma_(int p)",)),
    "polygamma": (("polygamma(int n, Tensor input, *, Tensor out=None)",), ("polygamma(int n)",)),
    "polygamma_": ((), ("polygamma_(int n)",)),
    "prelu": ("prelu(Tensor input, Tensor weight)",),
    "requires_grad_": ((), ("requires_grad_(bool requires_grad=True)",)),
    # sorting
    "topk": ("topk(Tensor input, SymInt k, int dim=-1, bool largest=True, bool sorted=True, *, Tensor[] out=None)",),
    "sort": ("sort(Tensor input, *, bool? stable, int dim=-1, bool descending=False, Tensor[] out=None)",
             "sort(Tensor input, int dim=-1, bool descending=False, *, Tensor[] out=None)"),
    "argsort": ("argsort(Tensor input, *, bool stable, int dim=-1, bool descending=False, Tensor out=None)",
                "argsort(Tensor input, int dim=-1, bool descending=False)"),
    "kthvalue": ("kthvalue(Tensor input, SymInt k, int dim=-1, bool keepdim=False, *, Tensor[] out=None)",),
    "mode": ("mode(Tensor input, int dim=-1, bool keepdim=False, *, Tensor[] out=None)",),
    "median": ("median(Tensor input)", "median(Tensor input, int dim, bool keepdim=False, *, Tensor[] out=None)"),
    "nanmedian": ("nanmedian(Tensor input)",
                  "nanmedian(Tensor input, int dim, bool keepdim=False, *, Tensor[] out=None)"),
    # products
    "mm": (("mm(Tensor input, Tensor mat2, *, Tensor out=None)",
            "mm(Tensor input, Tensor mat2, ScalarType out_dtype, *, Tensor out=None)"), ("mm(Tensor mat2)",)),
    "bmm": (("bmm(Tensor input, Tensor mat2, *, Tensor out=None)",
             "bmm(Tensor input, Tensor mat2, ScalarType out_dtype, *, Tensor out=None)"), ("bmm(Tensor mat2)",)),
    "matmul": ("matmul(Tensor input, Tensor other, *, Tensor out=None)",),
    # factories
    "tensor": ("tensor(object data, *, ScalarType? dtype=None, Device? device=None, bool pin_memory=False, "
               "bool requires_grad=False)",),
    "as_tensor": ("as_tensor(object data, *, ScalarType? dtype=None, Device? device=None)",),
    "new_tensor": ((), (f"new_tensor(object data, *, {_NEW})",)),
    "zeros": (f"zeros(SymInt[] size, *, {_FACTORY})",),
    "ones": (f"ones(SymInt[] size, *, {_FACTORY})",),
    "empty": (f"empty(SymInt[] size, *, MemoryFormat? memory_format=None, {_FACTORY})",),
    "full": (f"full(SymInt[] size, Scalar fill_value, *, {_FACTORY})",),
    "rand": _random("rand", "SymInt[] size"), "randn": _random("randn", "SymInt[] size"),
    "randint": _random("randint", "SymInt high, SymInt[] size") + _random("randint", "SymInt low, SymInt high, "
                                                                               "SymInt[] size"),
    "arange": (f"arange(Scalar end, *, {_FACTORY})",
               f"arange(Scalar start, Scalar end, *, {_NEW})",
               f"arange(Scalar start, Scalar end, Scalar step=1, *, {_FACTORY})"),
    "linspace": _space("linspace"), "logspace": _space("logspace", "float base=10.0, "),
    "eye": (f"eye(SymInt n, *, {_FACTORY})", f"eye(SymInt n, SymInt m, *, {_FACTORY})"),
    "zeros_like": (f"zeros_like(Tensor input, *, {_LIKE})",),
    "ones_like": (f"ones_like(Tensor input, *, {_LIKE})",),
    "empty_like": (f"empty_like(Tensor input, *, {_LIKE})",),
    "full_like": (f"full_like(Tensor input, Scalar fill_value, *, {_LIKE})",),
    "rand_like": tuple(f"rand_like(Tensor input, *, {g}{_LIKE})" for g in ("Generator? generator, ", "")),
    "randn_like": tuple(f"randn_like(Tensor input, *, {g}{_LIKE})" for g in ("Generator? generator, ", "")),
    "randint_like": tuple(f"randint_like(Tensor input, {b}, *, {g}{_LIKE})" for b in (
        "SymInt low, SymInt high", "Tensor high", "SymInt high") for g in ("Generator? generator, ", "")),
    "empty_strided": (f"empty_strided(SymInt[] size, SymInt[] stride, *, {_NEW})",),
    **{name: (f"{name}(int window_length, *, {_NEW})", f"{name}(int window_length, bool periodic, *, {_NEW})")
       for name in ("hann_window", "bartlett_window", "blackman_window")},
    "hamming_window": tuple(f"hamming_window(int window_length, {p}*, {_NEW})" for p in (
        "", "bool periodic, ", "bool periodic, float alpha, ", "bool periodic, float alpha, float beta, ")),
    "kaiser_window": tuple(f"kaiser_window(int window_length, {p}*, {_NEW})" for p in (
        "", "bool periodic, ", "bool periodic, float beta, ")),
    "multinomial": ("multinomial(Tensor input, SymInt num_samples, bool replacement=False, *, "
                    "Generator? generator=None, Tensor out=None)",),
    "normal_": ((), ("normal_(float mean=0, float std=1, *, Generator? generator=None)",)),
    "uniform_": ((), ("uniform_(float from=0, float to=1, *, Generator? generator=None)",)),
    "random_": ((), ("random_(*, Generator? generator=None)",
                     "random_(int from, int? to, *, Generator? generator=None)",
                     "random_(int to, *, Generator? generator=None)")),
    "to": ((), ("to(Device? device=None, ScalarType? dtype=None, bool non_blocking=False, bool copy=False, *, "
                 "MemoryFormat? memory_format=None)",
                 "to(ScalarType dtype, bool non_blocking=False, bool copy=False, *, MemoryFormat? memory_format=None)",
                 "to(Tensor tensor, bool non_blocking=False, bool copy=False, *, MemoryFormat? memory_format=None)")),
    "type_as": ((), ("type_as(Tensor other)",)),
    "copy_": ((), ("copy_(Tensor other, bool non_blocking=False)", "~copy_(Tensor other, bool async=False)")),
    "cpu": ((), ("cpu(*, MemoryFormat memory_format=torch.preserve_format)",)),
    **{name: ((), (f"{name}(*, MemoryFormat memory_format=torch.preserve_format)",)) for name in (
        "float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool", "cfloat", "cdouble")},
    "type": ((), ("type(object dtype=None, bool non_blocking=False)",)),
    "new_zeros": ((), (f"new_zeros(SymInt[] size, *, {_NEW})",)),
    "new_ones": ((), (f"new_ones(SymInt[] size, *, {_NEW})",)),
    "new_empty": ((), (f"new_empty(SymInt[] size, *, {_NEW})",)),
    "new_full": ((), (f"new_full(SymInt[] size, Scalar fill_value, *, {_NEW})",)),
}


def _conv(n: int) -> tuple[str, ...]:
    return tuple(f"conv{n}d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[{n}] stride=1, {pad}, "
                 f"SymInt[{n}] dilation=1, SymInt groups=1)"
                 for pad in (f"SymInt[{n}] padding=0", 'str padding="valid"'))


# torch.nn.functional's functions that are torch's parsed functions themselves
FUNCTIONAL: dict[str, tuple[str, ...]] = {
    "linear": ("linear(Tensor input, Tensor weight, Tensor? bias=None)",),
    "conv1d": _conv(1), "conv2d": _conv(2), "conv3d": _conv(3),
    "gelu": ('gelu(Tensor input, *, str approximate="none")',),
    "one_hot": ("one_hot(Tensor input, int num_classes=-1)",),
    "avg_pool2d": ("avg_pool2d(Tensor input, int[2] kernel_size, int[2] stride=[], int[2] padding=0, "
                   "bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None)",),
}
# ... and those written in Python that pass their arguments in order to the parsed function named here
FUNCTIONAL_PYTHON: dict[str, tuple[str, ...]] = {
    "pad": ('pad(Tensor input, SymInt[] pad, str mode="constant", float? value=None)',),
    "relu": ("relu(Tensor input, object inplace=False)",),
    "dropout": ("dropout(Tensor input, float p=0.5, bool training/train=True, object inplace=False)",),
    "leaky_relu": ("leaky_relu(Tensor input, Scalar negative_slope=0.01, object inplace=False)",),
    "layer_norm": ("layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, "
                   "float eps=1e-05)",),
    "cross_entropy": ("cross_entropy/cross_entropy_loss(Tensor input, Tensor target, Tensor? weight=None, "
                      "object size_average=None, int ignore_index=-100, object reduce=None, object reduction=None, "
                      "float label_smoothing=0.0)",),
}


def _fft(names: str, params: str) -> dict[str, tuple[str, ...]]:
    return {name: (f"fft_{name}(Tensor input, {params}, str? norm=None, *, Tensor out=None)",)
            for name in names.split()}


_FREQ = "*, Tensor out=None, ScalarType? dtype=None, Layout? layout=None, Device? device=None, " \
        "bool? pin_memory=False, bool requires_grad=False"
# torch.fft's functions (parsed as torch's fft_<name>)
FFT: dict[str, tuple[str, ...]] = {
    **_fft("fft ifft rfft irfft hfft ihfft", "SymInt? n=None, int dim=-1"),
    **_fft("fft2 ifft2 rfft2 irfft2 hfft2 ihfft2", "SymInt[1]? s=None, int[1] dim=[-2,-1]"),
    **_fft("fftn ifftn rfftn irfftn hfftn ihfftn", "SymInt[1]? s=None, int[1]? dim=None"),
    "fftfreq": (f"fft_fftfreq(int n, float d=1.0, {_FREQ})",),
    "rfftfreq": (f"fft_rfftfreq(int n, float d=1.0, {_FREQ})",),
    "fftshift": ("fft_fftshift(Tensor input, int[1]? dim=None)",),
    "ifftshift": ("fft_ifftshift(Tensor input, int[1]? dim=None)",),
}


def _special(names: str, params: str = "Tensor input") -> dict[str, tuple[str, ...]]:
    return {name: (f"special_{name}({params}, *, Tensor out=None)",) for name in names.split()}


# torch.special's functions (parsed as torch's special_<name>)
SPECIAL: dict[str, tuple[str, ...]] = {
    **_special("expit erf erfc erfcx erfinv entr ndtr ndtri log_ndtr i0 i0e i1 i1e exp2 expm1 log1p sinc gammaln "
               "digamma psi bessel_j0 bessel_j1 bessel_y0 bessel_y1 modified_bessel_i0 modified_bessel_i1 "
               "modified_bessel_k0 modified_bessel_k1"),
    **_special("airy_ai scaled_modified_bessel_k0 scaled_modified_bessel_k1 spherical_bessel_j0", "Tensor x"),
    **{name: tuple(f"special_{name}({x} x, {n} n, *, Tensor out=None)"
                   for x, n in (("Tensor", "Tensor"), ("Scalar", "Tensor"), ("Tensor", "Scalar")))
       for name in ("chebyshev_polynomial_t chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w "
                    "shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v "
                    "shifted_chebyshev_polynomial_w hermite_polynomial_h hermite_polynomial_he laguerre_polynomial_l "
                    "legendre_polynomial_p").split()},
    **_special("logit", "Tensor input, float? eps=None"),
    **_special("multigammaln", "Tensor input, int p"),
    **_special("gammainc gammaincc", "Tensor input, Tensor other"),
    **{name: _binary(f"special_{name}", "TT", "ST", "TS") for name in ("xlogy", "xlog1py", "zeta")},
    "polygamma": ("special_polygamma(int n, Tensor input, *, Tensor out=None)",),
    "round": ("special_round(Tensor input, *, int decimals=0, Tensor out=None)",),
    "softmax": ("special_softmax(Tensor input, int dim, ScalarType? dtype=None)",),
    "log_softmax": ("special_log_softmax(Tensor input, int dim, *, ScalarType? dtype=None)",),
    "logsumexp": ("special_logsumexp(Tensor input, int[1] dim, bool keepdim=False, *, Tensor out=None)",),
}
