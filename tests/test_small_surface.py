"""Small pieces of torch's surface, each compared with torch: ``__future__`` conversion flags and their effect on
``Module._apply``, ``utils.swap_tensors``, ``testing.make_tensor`` / ``assert_allclose``, ``utils.collect_env``
and ``utils.data.StackDataset``."""

from __future__ import annotations

import importlib
import warnings
import weakref

import numpy as np
import pytest
import torch
import torch.__future__  # noqa: F401
import torch.testing
import torch.utils.collect_env

import ember
import ember.__future__
import ember.testing
import ember.utils.collect_env
from ember.utils.data import DataLoader, Dataset, StackDataset, TensorDataset
from oracle import assert_same_error

LIBS = (torch, ember)


@pytest.fixture(autouse=True)
def _default_flags():
    yield
    for lib in LIBS:
        lib.__future__.set_overwrite_module_params_on_conversion(False)
        lib.__future__.set_swap_module_params_on_conversion(False)


def _both(fn):
    """``fn(lib)`` under torch and ember."""
    return fn(torch), fn(ember)


def _outcome(fn):
    """``fn()``'s result, or ``(error type, message, cause message)`` when it raises."""
    try:
        return fn()
    except Exception as e:
        return type(e).__name__, str(e), str(e.__cause__) if e.__cause__ else None


# ---- __future__ -----------------------------------------------------------------------------------------------
def test_future_module_and_flags():
    assert importlib.import_module("ember.__future__") is ember.__future__
    from ember import __future__ as fut
    assert fut is ember.__future__
    for name in ("overwrite", "swap"):
        get = getattr(ember.__future__, f"get_{name}_module_params_on_conversion")
        put = getattr(ember.__future__, f"set_{name}_module_params_on_conversion")
        assert get() is False
        assert put(True) is None and get() is True
        put(False)
        assert get() is False


def _conversion(lib, overwrite, swap):
    """What ``m.double()`` does to a Linear's weight object, its grad object, types, dtypes and leafness."""
    lib.__future__.set_overwrite_module_params_on_conversion(overwrite)
    lib.__future__.set_swap_module_params_on_conversion(swap)
    lib.manual_seed(0)
    m = lib.nn.Linear(2, 3)
    w, b = m.weight, m.bias
    w.grad = lib.ones(3, 2)
    g = w.grad
    w.tag = "kept"
    m.double()
    out = (m.weight is w, m.bias is b, m.weight.grad is g, type(m.weight).__name__, str(m.weight.dtype),
           str(w.dtype), str(g.dtype), str(m.weight.grad.dtype), m.weight.is_leaf, m.weight.requires_grad,
           getattr(m.weight, "tag", None), getattr(w, "tag", None), m.weight.tolist(), m.weight.grad.tolist())
    m(lib.ones(1, 2, dtype=lib.float64)).sum().backward()   # the converted module still trains
    return (*out, m.weight.grad.tolist(), m.bias.grad.tolist())


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("swap", [False, True])
def test_apply_follows_future_flags(overwrite, swap):
    t, e = _both(lambda lib: _conversion(lib, overwrite, swap))
    assert e == t
    assert t[0] is (not overwrite or swap)   # the test covers each path: identity kept unless overwriting


def test_apply_buffers_and_to_device():
    for swap in (False, True):
        def run(lib, swap=swap):
            lib.__future__.set_swap_module_params_on_conversion(swap)
            m = lib.nn.BatchNorm1d(3)
            w, rm = m.weight, m.running_mean
            m.to(lib.float64)
            return m.weight is w, m.running_mean is rm, str(m.running_mean.dtype), str(m.num_batches_tracked.dtype)
        t, e = _both(run)
        assert e == t


def test_apply_swap_keeps_optimizer_params_and_no_op_conversions():
    def run(lib):
        lib.__future__.set_swap_module_params_on_conversion(True)
        m = lib.nn.Linear(2, 3)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        m.weight.grad = lib.ones(3, 2)
        w, g = m.weight, m.weight.grad
        m.float()   # converting to the dtype it has: the swap is with an alias of itself
        same = (m.weight is w, m.weight.grad is g, m.weight.grad.tolist())
        m.double()
        held = opt.param_groups[0]["params"][0]
        a = lib.zeros(2)
        lib.utils.swap_tensors(a, a)
        return same, held is m.weight, str(held.dtype), a.tolist()
    t, e = _both(run)
    assert e == t
    assert t[1] is True and t[2] == "torch.float64"


def _swap_after_forward(lib, input_requires_grad):
    lib.__future__.set_swap_module_params_on_conversion(True)
    m = lib.nn.Linear(2, 3, bias=False)
    y = (m.weight * 2).sum() if input_requires_grad is None else m(lib.ones(1, 2, requires_grad=True)).sum()
    w = m.weight
    res = _outcome(m.double)
    return res if isinstance(res, tuple) else ("ok", m.weight is w), _outcome(y.backward)


def test_apply_swap_poisons_graph_built_before():
    t, e = _both(lambda lib: _swap_after_forward(lib, None))
    assert e == t
    assert t[0] == ("ok", True) and "poisoned by swap_tensors" in t[1][1]


def test_apply_swap_refused_when_graph_saved_the_weight():
    t, e = _both(lambda lib: _swap_after_forward(lib, True))
    assert e == t
    assert t[0][0] == "RuntimeError" and t[0][1] == "_apply(): Couldn't swap Linear.weight"


def test_apply_swap_after_forward_with_input_not_requiring_grad():
    def run(lib):
        lib.__future__.set_swap_module_params_on_conversion(True)
        m = lib.nn.Linear(2, 3)
        y = m(lib.ones(1, 2)).sum()  # noqa: F841
        return _outcome(lambda: m.double() and "ok")
    t, e = _both(run)
    assert e == t


def test_apply_swap_failure_restores_grad():
    def run(lib):
        lib.__future__.set_swap_module_params_on_conversion(True)
        m = lib.nn.Linear(2, 3)
        g = lib.ones(3, 2)
        m.weight.grad = g
        keep = weakref.ref(m.weight)  # noqa: F841  (a weak reference refuses the swap)
        return _outcome(m.double), m.weight.grad is g, str(m.weight.dtype)
    t, e = _both(run)
    assert e == t
    assert t[0][2] == "Cannot swap t1 because it has weakref associated with it"


# ---- swap_tensors --------------------------------------------------------------------------------------------
def test_swap_tensors_exchanges_state_keeps_identity():
    def run(lib):
        a = lib.nn.Parameter(lib.zeros(2))
        b = lib.arange(6.).reshape(2, 3)
        b.note = "b's"
        ia, ib = id(a), id(b)
        assert lib.utils.swap_tensors(a, b) is None
        return (id(a) == ia, id(b) == ib, type(a).__name__, type(b).__name__, a.tolist(), b.tolist(),
                a.requires_grad, b.requires_grad, a.__dict__, b.__dict__, a.shape, a.stride(), str(b.dtype))
    t, e = _both(run)
    assert e == t
    assert t[2] == "Tensor" and t[3] == "Parameter"


def test_swap_tensors_moves_grad_and_views_stay_with_memory():
    def run(lib):
        a = lib.zeros(2, requires_grad=True)
        a.grad = lib.ones(2)
        b = lib.full((3,), 5.)
        lib.utils.swap_tensors(a, b)
        b.grad.add_(1)
        return a.grad, b.grad.tolist(), a.is_leaf, b.requires_grad, a.requires_grad
    t, e = _both(run)
    assert e == t


@pytest.mark.parametrize("case", ["weakref1", "weakref2", "view", "saved", "grad_of", "view_no_grad",
                                  "saved_no_grad", "saved_non_leaf", "not_tensor", "slots"])
def test_swap_tensors_errors(case):
    class Slotted(torch.Tensor):
        __slots__ = ("x",)

    class ESlotted(ember.Tensor):
        __slots__ = ("x",)

    def run(lib):
        keep = []
        a, b = lib.zeros(2), lib.ones(2)
        if case == "weakref1":
            keep.append(weakref.ref(a))
        elif case == "weakref2":
            keep.append(weakref.ref(b))
        elif case == "view":
            keep.append(a[:1])
        elif case == "saved":
            a.requires_grad_()
            keep.append(a * a)
        elif case == "grad_of":
            p = lib.zeros(2, requires_grad=True)
            p.grad = a
            keep.append(p)
        elif case == "view_no_grad":
            a.requires_grad_()
            with lib.no_grad():
                keep.append(a[:1])
        elif case == "saved_no_grad":   # saved by a product with a tensor that requires grad
            keep.append(lib.ones(2, requires_grad=True) * a)
        elif case == "saved_non_leaf":
            a = lib.ones(2, requires_grad=True) * 2
            keep.append(a * a)
        elif case == "not_tensor":
            return lib.utils.swap_tensors(1, b)
        elif case == "slots":
            b = lib.zeros(2).as_subclass(Slotted if lib is torch else ESlotted)
        lib.utils.swap_tensors(a, b)
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_swap_tensors_free_graph_and_non_leaf_allowed():
    def run(lib):
        a = lib.zeros(2, requires_grad=True)
        y = (a * a).sum()
        del y   # the graph that saved ``a`` is gone
        lib.utils.swap_tensors(a, lib.ones(3))
        z = lib.ones(2, requires_grad=True) * 2   # a non-leaf
        lib.utils.swap_tensors(z, lib.zeros(2))
        x = lib.ones(2, requires_grad=True)
        y = x.exp()   # a saved output does not hold the tensor
        s = y.sum()
        lib.utils.swap_tensors(y, lib.zeros(2))
        s.backward()
        return a.tolist(), z.tolist(), z.grad_fn is None, z.requires_grad, [round(v, 5) for v in x.grad.tolist()]
    t, e = _both(run)
    assert e == t


# ---- make_tensor ---------------------------------------------------------------------------------------------
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64", "float16", "bfloat16",
          "float32", "float64", "complex64", "complex128"]


def _values(x):
    return x.float().tolist() if str(x.dtype) == "torch.bfloat16" else x.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"noncontiguous": True}, {"low": -3, "high": 2.5},
                                {"exclude_zero": True, "low": 0, "high": 2}, {"low": -1e308, "high": 1e308}],
                         ids=["default", "noncontiguous", "range", "exclude_zero", "huge"])
def test_make_tensor_matches_torch(dtype, kw):
    def run(lib):
        lib.manual_seed(0)
        x = lib.testing.make_tensor(3, 4, dtype=getattr(lib, dtype), device="cpu", **kw)
        return (_values(x), str(x.dtype), tuple(x.shape), x.stride(), x.storage_offset(), x.is_contiguous(),
                x.requires_grad)
    if dtype == "uint64" and kw.get("low") == -1e308:   # the range overflows randint's int64 arguments
        assert_same_error(lambda: run(ember), lambda: run(torch))
        return
    if dtype in ("uint16", "uint32", "uint64") and kw.get("exclude_zero"):   # torch lacks masked_fill there
        with pytest.raises(NotImplementedError):
            run(torch)
        x = run(ember)
        assert 0 not in np.asarray(x[0]) and x[0]
        return
    t, e = _both(run)
    assert e == t


def test_make_tensor_uint64_full_range():
    assert_same_error(lambda: ember.testing.make_tensor(2, dtype=ember.uint64, device="cpu", low=0, high=1e308),
                      lambda: torch.testing.make_tensor(2, dtype=torch.uint64, device="cpu", low=0, high=1e308))


def test_make_tensor_shapes_layouts_and_grad():
    cases = [((), {}), (([2, 3],), {}), (([],), {}), ((2,), {"noncontiguous": True}),
             ((1, 1), {"noncontiguous": True}), ((2, 0), {"noncontiguous": True}),
             ((2, 3, 2, 2), {"memory_format": "channels_last"}), ((2, 2), {"requires_grad": True}),
             ((2, 3), {"requires_grad": True, "noncontiguous": True}), ((2,), {"low": 5, "high": 5}),
             ((2, 2), {"dtype": "complex64", "exclude_zero": True, "low": 0, "high": 1e-45})]
    for args, kw in cases:
        def run(lib, args=args, kw=kw):
            kw = dict(kw)
            if "memory_format" in kw:
                kw["memory_format"] = getattr(lib, kw["memory_format"])
            kw["dtype"] = getattr(lib, kw.get("dtype", "float32"))
            lib.manual_seed(1)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                x = lib.testing.make_tensor(*args, device="cpu", **kw)
            return (x.tolist(), tuple(x.shape), x.stride(), x.is_leaf, x.requires_grad,
                    [(m.category.__name__, str(m.message)) for m in w])
        t, e = _both(run)
        assert e == t, (args, kw)
    t = torch.testing.make_tensor(torch.Size([2, 1]), dtype=torch.float32, device="cpu")
    e = ember.testing.make_tensor(ember.Size([2, 1]), dtype=ember.float32, device="cpu")
    assert tuple(e.shape) == tuple(t.shape) == (2, 1)


@pytest.mark.parametrize("kw", [{"low": float("nan")}, {"low": 3, "high": 1},
                                {"low": 300, "high": 400, "dtype": "uint8"},
                                {"low": -30, "high": -10, "dtype": "uint8"},
                                {"low": 1, "high": 1, "dtype": "int32"}, {"low": -5, "high": -2, "dtype": "bool"},
                                {"requires_grad": True, "dtype": "int32"},
                                {"noncontiguous": True, "memory_format": "channels_last"}])
def test_make_tensor_errors(kw):
    def run(lib, kw=kw):
        kw = dict(kw)
        if "memory_format" in kw:
            kw["memory_format"] = getattr(lib, kw["memory_format"])
        kw["dtype"] = getattr(lib, kw.get("dtype", "float32"))
        return lib.testing.make_tensor(2, 2, device="cpu", **kw)
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_make_tensor_unsupported_dtype():
    with pytest.raises(TypeError, match=r"The requested dtype 'x' is not supported by torch.testing.make_tensor\(\)"):
        ember.testing.make_tensor(2, dtype="x", device="cpu")


# ---- assert_allclose (deprecated) -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", range(9))
def test_assert_allclose_matches_torch(case):
    def run(lib):
        nan = float("nan")
        a, e, kw = [(lib.tensor([1.0, nan]), lib.tensor([1.0, nan]), {}),
                    (lib.tensor([1.0, 2.0]), [1.0, 2.00001], {}),
                    (lib.tensor([1.0, 2.0]), [1.0, 2.001], {}),
                    ([1, 2], [1, 3], {}),
                    (lib.tensor([1.0, 2.0], dtype=lib.float64), lib.tensor([1.0, 2.0]), {}),
                    (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.1]), {"rtol": 0.1}),
                    (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.1]), {"msg": "boom"}),
                    (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.0, 3.0]), {}),
                    (3.0, 3.0001, {})][case]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            res = _outcome(lambda: lib.testing.assert_allclose(a, e, **kw))
        return res, [(m.category.__name__, str(m.message), m.filename) for m in w]
    t, e = _both(run)
    assert e == t
    assert t[1][0][0] == "FutureWarning" and t[1][0][2] == __file__


# ---- collect_env ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_report():
    return torch.utils.collect_env.get_pretty_env_info()


def _fields(report):
    return dict(line.split(": ", 1) for line in report.splitlines() if ": " in line and not line.startswith("["))


def test_collect_env_report(torch_report):
    info = ember.utils.collect_env.get_env_info()
    assert info.ember_version == ember.__version__ and info.numpy_version == np.__version__
    assert info.is_cuda_available is ember.cuda.is_available()
    text = ember.utils.collect_env.get_pretty_env_info()
    e, t = _fields(text), _fields(torch_report)
    assert e["ember version"] == ember.__version__ and e["NumPy version"] == np.__version__
    for key in ("OS", "Libc version", "Python version", "Python platform"):   # facts of the machine: as torch
        assert e[key] == t[key]
    for key in ("Is debug build", "Is CUDA available", "CUDA runtime version", "GPU models and configuration",
                "Nvidia driver version"):   # torch's labels
        assert key in e and key in t
    assert e["Is CUDA available"] == str(ember.cuda.is_available())
    assert text.index("\nCPU:\n") < text.index("\nVersions of relevant libraries:\n")
    assert f"[pip3] numpy=={np.__version__}" in text and f"[pip3] numpy=={np.__version__}" in torch_report
    assert text.split("\nCPU:\n")[1].split("\n\n")[0] == torch_report.split("\nCPU:\n")[1].split("\n\n")[0]


def test_collect_env_missing_values_and_main(capsys, monkeypatch):
    info = ember.utils.collect_env.get_env_info()
    none = info._replace(os=None, cpu_info=None, cuda_runtime_version=None, nvidia_gpu_models=None,
                         nvidia_driver_version=None, is_cuda_available=False, pip_packages="")
    pretty = ember.utils.collect_env.pretty_str(none)
    assert "OS: Could not collect" in pretty and "CUDA runtime version: No CUDA" in pretty
    assert "CPU:\nCould not collect" in pretty and "No relevant packages" in pretty
    gpus = info._replace(nvidia_gpu_models="GPU 0: A\nGPU 1: B", is_cuda_available=True)
    assert "GPU models and configuration: \nGPU 0: A\nGPU 1: B\n" in ember.utils.collect_env.pretty_str(gpus)
    monkeypatch.setattr(ember.utils.collect_env, "get_env_info", lambda: none)
    ember.utils.collect_env.main()
    out = capsys.readouterr().out
    assert out.startswith("Collecting environment information...\nember version: ")
    assert out.endswith(pretty + "\n")


# ---- StackDataset --------------------------------------------------------------------------------------------
class _Short(Dataset):
    def __len__(self):
        return 4

    def __getitems__(self, indices):
        return [1]


def _stack_results(lib, data):
    a = data.TensorDataset(lib.arange(4))
    b = [10, 11, 12, 13]
    s, d = data.StackDataset(a, b), data.StackDataset(x=a, y=b)
    return (len(s), s[1], s.__getitems__([0, 3]), len(d), d[2], d.__getitems__([1, 2]), d.__getitems__([]),
            list(data.DataLoader(data.StackDataset(x=a, y=lib.arange(4.)), batch_size=2)),
            list(data.DataLoader(data.StackDataset(a, b), batch_size=3)))


def test_stack_dataset_items():
    import torch.utils.data as tdata

    import ember.utils.data as edata
    t, e = _stack_results(torch, tdata), _stack_results(ember, edata)
    assert repr(e).replace("ember", "torch") == repr(t)


@pytest.mark.parametrize("case", ["both", "none", "length", "length_kw", "getitems", "getitems_kw"])
def test_stack_dataset_errors(case):
    def run(lib):
        data = importlib.import_module(f"{lib.__name__}.utils.data")
        a = data.TensorDataset(lib.arange(4))
        make = {"both": lambda: data.StackDataset(a, y=a), "none": data.StackDataset,
                "length": lambda: data.StackDataset(a, [1]), "length_kw": lambda: data.StackDataset(x=a, y=[1]),
                "getitems": lambda: data.StackDataset(a, _Short()).__getitems__([0, 1]),
                "getitems_kw": lambda: data.StackDataset(p=_Short()).__getitems__([0, 1])}[case]
        make()
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_stack_dataset_exported():
    assert StackDataset.__module__ == "ember.utils.data.dataset"
    assert DataLoader and TensorDataset
