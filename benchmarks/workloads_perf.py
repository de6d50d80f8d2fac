"""Hot single ops of transformer training, forward + backward on GPT-like activations (batch 64, context 128,
width 256), written once against the torch API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SHAPE = (64, 128, 256)


def gelu_fwd_bwd(lib: Any, approximate: str = "none") -> Callable[[], Any]:
    """GELU forward and backward (``approximate`` 'none': erf; 'tanh': the tanh formula)."""
    lib.manual_seed(0)
    x = lib.randn(*SHAPE, requires_grad=True)
    g = lib.randn(*SHAPE)

    def step() -> Any:
        y = lib.nn.functional.gelu(x, approximate=approximate)
        y.backward(g)
        x.grad = None
        return y
    return step


def layer_norm_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """LayerNorm over the last dim with weight and bias, forward and backward."""
    lib.manual_seed(0)
    x = lib.randn(*SHAPE, requires_grad=True)
    norm = lib.nn.LayerNorm(SHAPE[-1])
    g = lib.randn(*SHAPE)

    def step() -> Any:
        y = norm(x)
        y.backward(g)
        x.grad = norm.weight.grad = norm.bias.grad = None
        return y
    return step


def norm_fwd_bwd(lib: Any, kind: str, shape: tuple[int, ...]) -> Callable[[], Any]:
    """A normalisation module in training mode (``kind``: BatchNorm1d, BatchNorm2d, GroupNorm with 8 groups,
    RMSNorm over the last dim) with its affine parameters, forward and backward."""
    lib.manual_seed(0)
    x = lib.randn(*shape, requires_grad=True)
    norm = {
        "BatchNorm1d": lambda: lib.nn.BatchNorm1d(shape[1]),
        "BatchNorm2d": lambda: lib.nn.BatchNorm2d(shape[1]),
        "GroupNorm": lambda: lib.nn.GroupNorm(8, shape[1]),
        "RMSNorm": lambda: lib.nn.RMSNorm(shape[-1]),
    }[kind]()
    g = lib.randn(*shape)

    def step() -> Any:
        y = norm(x)
        y.backward(g)
        x.grad = None
        norm.zero_grad()
        return y
    return step


def mean_trailing(lib: Any) -> Callable[[], Any]:
    """Means over the trailing dims (last one, last two) and the sum of all, no grad."""
    lib.manual_seed(0)
    x = lib.randn(*SHAPE)

    def step() -> Any:
        return x.mean(-1), x.mean((-2, -1)), x.sum()
    return step


def softmax_fwd_bwd(lib: Any, log: bool = False) -> Callable[[], Any]:
    """softmax (or log_softmax) over the last dim, forward and backward (attention scores, token logits)."""
    lib.manual_seed(0)
    x = lib.randn(*SHAPE, requires_grad=True)
    g = lib.randn(*SHAPE)
    fn = lib.nn.functional.log_softmax if log else lib.nn.functional.softmax

    def step() -> Any:
        y = fn(x, -1)
        y.backward(g)
        x.grad = None
        return y
    return step


def cross_entropy_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """Cross-entropy of (8192, 512) logits against class indices (a language model's loss), forward and
    backward."""
    lib.manual_seed(0)
    x = lib.randn(8192, 512, requires_grad=True)
    y = lib.randint(0, 512, (8192,))

    def step() -> Any:
        loss = lib.nn.functional.cross_entropy(x, y)
        loss.backward()
        x.grad = None
        return loss
    return step


WORKLOADS: dict[str, tuple[Callable[[Any], Callable[[], Any]], int]] = {
    "gelu fwd+bwd 64x128x256": (gelu_fwd_bwd, 1),
    "gelu tanh fwd+bwd 64x128x256": (lambda lib: gelu_fwd_bwd(lib, "tanh"), 1),
    "layer_norm fwd+bwd 64x128x256": (layer_norm_fwd_bwd, 1),
    "batch_norm1d train fwd+bwd 256x1024": (lambda lib: norm_fwd_bwd(lib, "BatchNorm1d", (256, 1024)), 1),
    "batch_norm2d train fwd+bwd 32x64x32x32": (lambda lib: norm_fwd_bwd(lib, "BatchNorm2d", (32, 64, 32, 32)), 1),
    "group_norm fwd+bwd 32x64x32x32": (lambda lib: norm_fwd_bwd(lib, "GroupNorm", (32, 64, 32, 32)), 1),
    "rms_norm fwd+bwd 64x128x256": (lambda lib: norm_fwd_bwd(lib, "RMSNorm", SHAPE), 1),
    "mean trailing 64x128x256": (mean_trailing, 1),
    "softmax fwd+bwd 64x128x256": (softmax_fwd_bwd, 1),
    "log_softmax fwd+bwd 64x128x256": (lambda lib: softmax_fwd_bwd(lib, log=True), 1),
    "cross_entropy fwd+bwd 8192x512": (cross_entropy_fwd_bwd, 1),
}
