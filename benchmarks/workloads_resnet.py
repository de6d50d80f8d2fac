"""Vision workloads: ResNet-18 inference.

ember runs ``ember.vision.models.resnet18``; torch (torchvision is not installed beside it) runs the same
network from ``resnet18(lib)`` below, written once against the torch API: torchvision's ResNet-18 layout
(7x7 stem, max pool, four stages of two BasicBlocks, average pool, fc).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def resnet18(lib: Any, num_classes: int = 1000) -> Any:
    """torchvision's ResNet-18 built from ``lib.nn`` (same modules, names and order)."""
    nn = lib.nn

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            out += x if self.downsample is None else self.downsample(x)
            return self.relu(out)

    stages = [nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout))
              for cin, cout, stride in [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]]
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
        *stages, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))


def resnet18_inference(lib: Any) -> Callable[[], Any]:
    """ResNet-18 forward in eval mode under no_grad, a batch of 4 3x224x224 images."""
    lib.manual_seed(0)
    if lib.__name__ == "ember":
        import ember.vision

        model = ember.vision.models.resnet18().eval()
    else:
        model = resnet18(lib).eval()
    x = lib.randn(4, 3, 224, 224)

    def step() -> Any:
        with lib.no_grad():
            return model(x)
    return step


WORKLOADS: dict[str, tuple[Callable[[Any], Callable[[], Any]], int]] = {
    "resnet18 inference (batch 4, 3x224x224)": (resnet18_inference, 1),
}
