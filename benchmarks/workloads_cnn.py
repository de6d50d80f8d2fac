"""CNN workloads: a LeNet-style training step and the convolutions alone (forward + backward)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def cnn_train_step(lib: Any) -> Callable[[], Any]:
    """conv(1→16, 3x3, pad 1)-BN-ReLU-maxpool ×2 (16→32), Linear(32·7·7→10), Dropout, cross-entropy, SGD;
    a batch of 64 1×28×28 images."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10), nn.Dropout(0.5),
    )
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.randn(64, 1, 28, 28)
    y = lib.randint(0, 10, (64,))

    def step() -> Any:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def conv_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """The two convolutions of the CNN step alone: forward and backward (input, weight and bias grads)."""
    F = lib.nn.functional
    lib.manual_seed(0)
    x1 = lib.randn(64, 1, 28, 28)
    x2 = lib.randn(64, 16, 14, 14, requires_grad=True)
    w1 = lib.randn(16, 1, 3, 3, requires_grad=True)
    w2 = lib.randn(32, 16, 3, 3, requires_grad=True)
    b1 = lib.randn(16, requires_grad=True)
    b2 = lib.randn(32, requires_grad=True)

    def step() -> Any:
        out = F.conv2d(x1, w1, b1, padding=1).sum() + F.conv2d(x2, w2, b2, padding=1).sum()
        out.backward()
        return out
    return step


def _depthwise_block(lib: Any, shape: tuple[int, ...], stride: int) -> Callable[[], Any]:
    """A 3×3 depthwise convolution (pad 1, groups = channels) of the given stride on ``shape``: forward and
    backward (input, weight and bias grads)."""
    F = lib.nn.functional
    lib.manual_seed(0)
    c = shape[1]
    x = lib.randn(*shape, requires_grad=True)
    w = lib.randn(c, 1, 3, 3, requires_grad=True)
    b = lib.randn(c, requires_grad=True)

    def step() -> Any:
        out = F.conv2d(x, w, b, stride=stride, padding=1, groups=c).sum()
        out.backward()
        return out
    return step


def depthwise_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """MobileNetV2's stride-1 depthwise block on (8, 32, 56, 56)."""
    return _depthwise_block(lib, (8, 32, 56, 56), 1)


def depthwise_s2_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """MobileNet's downsampling (stride-2) depthwise block on (8, 96, 56, 56) → (8, 96, 28, 28)."""
    return _depthwise_block(lib, (8, 96, 56, 56), 2)


def conv3d_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """A 3×3×3 convolution (16→32 channels, pad 1) on (4, 16, 16, 16, 16): forward and backward."""
    F = lib.nn.functional
    lib.manual_seed(0)
    x = lib.randn(4, 16, 16, 16, 16, requires_grad=True)
    w = lib.randn(32, 16, 3, 3, 3, requires_grad=True)
    b = lib.randn(32, requires_grad=True)

    def step() -> Any:
        out = F.conv3d(x, w, b, padding=1).sum()
        out.backward()
        return out
    return step


WORKLOADS: dict[str, tuple[Callable[[Any], Callable[[], Any]], int]] = {
    "cnn train step (LeNet-style, batch 64)": (cnn_train_step, 1),
    "conv2d fwd+bwd (LeNet's two convs, batch 64)": (conv_fwd_bwd, 1),
    "depthwise conv2d fwd+bwd (MobileNetV2 block)": (depthwise_fwd_bwd, 1),
    "depthwise conv2d stride 2 fwd+bwd (MobileNetV2 downsampling block)": (depthwise_s2_fwd_bwd, 1),
    "conv3d fwd+bwd": (conv3d_fwd_bwd, 1),
}
