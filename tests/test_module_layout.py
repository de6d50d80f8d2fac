"""torch's module layout: each public class or function of torch's namespaces is importable from the same
submodule path under ember (``torch.nn.modules.activation.MultiheadAttention`` ->
``ember.nn.modules.activation.MultiheadAttention``), which is also how ``ember.load`` finds the classes of a
whole pickled torch model; and the once-per-process warning of ``float()`` on a tensor requiring grad."""

from __future__ import annotations

import importlib
import inspect
import io
import subprocess
import sys

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMESPACES = ["torch.nn", "torch.optim", "torch.optim.lr_scheduler", "torch.utils.data", "torch.autograd"]
# torch-internal homes ember does not mirror (C extensions, datapipes, deprecated aliases of private helpers)
SKIPPED_MODULES = ("torch._", "torch.utils.data.datapipes", "torch.nn.functional")
# unusable in torch 2.13 itself (calling one raises AttributeError inside torch), so not reproduced
SKIPPED_NAMES = {"NestedIOFunction"}


def _torch_homes() -> list[tuple[str, str]]:
    homes = set()
    for space in NAMESPACES:
        mod = importlib.import_module(space)
        for name in getattr(mod, "__all__", dir(mod)):
            obj = getattr(mod, name, None)
            home = getattr(obj, "__module__", None) or ""
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and home.startswith("torch.") \
                    and not home.startswith(SKIPPED_MODULES) and not name.startswith("_") \
                    and name not in SKIPPED_NAMES:
                homes.add((home, obj.__name__))
    return sorted(homes)


def test_every_public_name_lives_where_torch_keeps_it():
    missing = []
    for home, name in _torch_homes():
        try:
            found = hasattr(importlib.import_module("ember" + home[len("torch"):]), name)
        except ImportError:
            found = False
        if not found:
            missing.append(f"{home}.{name}")
    assert missing == []


@pytest.mark.parametrize("build, inputs", [
    (lambda lib: lib.nn.MultiheadAttention(8, 2), lambda lib: (lib.ones(3, 1, 8),) * 3),
    (lambda lib: lib.nn.Softmax2d(), lambda lib: (lib.arange(24.0).reshape(2, 3, 2, 2),)),
    (lambda lib: lib.nn.Fold((4, 4), 2), lambda lib: (lib.arange(36.0).reshape(1, 4, 9),)),
    (lambda lib: lib.nn.Unfold(2), lambda lib: (lib.arange(32.0).reshape(1, 2, 4, 4),)),
    (lambda lib: lib.nn.ChannelShuffle(2), lambda lib: (lib.arange(16.0).reshape(1, 4, 2, 2),)),
    (lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4]),
     lambda lib: (lib.ones(2, 8), lib.tensor([1, 7]))),
    (lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 1,
                                           enable_nested_tensor=False), lambda lib: (lib.ones(3, 1, 8),)),
])
def test_torch_pickled_model_loads_and_computes_the_same(build, inputs):
    torch.manual_seed(0)
    model = build(torch)
    buf = io.BytesIO()
    torch.save(model, buf)
    loaded = ember.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert type(loaded).__module__ == "ember" + type(model).__module__[len("torch"):]
    assert repr(loaded) == repr(model)
    expected, got = model(*inputs(torch)), loaded(*inputs(ember))
    expected = expected[0] if isinstance(expected, tuple) else expected
    got = got[0] if isinstance(got, tuple) else got
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_container_is_deprecated_as_torch():
    with pytest.warns(FutureWarning) as caught:
        made = ember.nn.Container(a=ember.nn.Linear(2, 2))
    with pytest.warns(FutureWarning) as expected:
        torch.nn.Container(a=torch.nn.Linear(2, 2))
    assert str(caught[0].message) == str(expected[0].message)
    assert list(dict(made.named_children())) == ["a"]


_FLOAT_WARNING = """
import warnings, sys
lib = __import__(sys.argv[1])
warnings.simplefilter("always")
x = lib.ones(2, requires_grad=True)
with warnings.catch_warnings(record=True) as seen:
    with lib.no_grad():
        float(x[0])                 # no grad mode: no warning
    int(x[0]); x[0].item()          # only float() warns
    float(x[0] * 2)
    float(x[1])                     # once per process
print(len(seen))
print(seen[0].message if seen else "")
"""


def test_float_of_a_tensor_requiring_grad_warns_once_as_torch():
    def run(lib: str) -> str:
        return subprocess.run([sys.executable, "-c", _FLOAT_WARNING, lib], capture_output=True, text=True,
                              check=True).stdout
    assert run("ember") == run("torch")


def test_nn_factory_kwargs_as_torch():
    for lib in (ember, torch):
        f = lib.nn.factory_kwargs
        assert f(None) == {} and f({"device": None}) == {"device": None}
        assert f({"factory_kwargs": {"dtype": lib.float16}, "device": "cpu"}) == {"dtype": lib.float16, "device": "cpu"}
        with pytest.raises(TypeError, match=r"^unexpected kwargs \{'foo'\}$"):
            f({"foo": 1})
        with pytest.raises(TypeError, match="^dtype specified twice, in \\*\\*kwargs and in factory_kwargs$"):
            f({"factory_kwargs": {"dtype": lib.float16}, "dtype": lib.float32})


def test_weights_only_load_of_a_torch_model_with_ember_classes_allowlisted():
    """generate.py of pytorch/examples: ``torch.load`` of a whole model under ``safe_globals`` listing the classes
    as the program sees them — ember's under ``import ember as torch`` — while the file names torch's."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.1), torch.nn.ReLU())
    buf = io.BytesIO()
    torch.save(model, buf)
    allowed = [ember.nn.modules.container.Sequential, ember.nn.modules.linear.Linear,
               ember.nn.modules.dropout.Dropout, ember.nn.modules.activation.ReLU]
    with pytest.raises(Exception, match="Unsupported global: GLOBAL torch.nn.modules.container.Sequential"):
        ember.load(io.BytesIO(buf.getvalue()))
    with ember.serialization.safe_globals(allowed):
        loaded = ember.load(io.BytesIO(buf.getvalue()))
    assert repr(loaded) == repr(model)
    assert np.array_equal(loaded[0].weight.detach().numpy(), model[0].weight.detach().numpy())
    with ember.serialization.safe_globals(allowed[:3]), pytest.raises(Exception, match="activation.ReLU"):
        ember.load(io.BytesIO(buf.getvalue()))


def test_torch_functional_names_stay_the_top_level_functions_once_dispatch_is_on():
    """torch.functional.atleast_1d is torch.atleast_1d; ember's stays so when the ``__torch_function__`` protocol
    rebinds the entry points (a quantized tensor or a Tensor subclass switches it on)."""
    from ember import overrides
    ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
    try:
        assert all(getattr(ember.functional, n) is getattr(ember, n) for n in ember.functional.__all__)
    finally:
        overrides._deactivate()
    assert all(getattr(ember.functional, n) is getattr(ember, n) for n in ember.functional.__all__)
