"""The default `ember train` run (a small CNN on scikit-learn's digits): test accuracy and wall time.

Target (issue 8): ≥ 97% test accuracy in under 60 s on 2 CPU cores, measured for the whole command (start-up,
data, training, evaluation, files). Run: `python benchmarks/train_digits.py [--torch]`; --torch also times the
same model and schedule written against PyTorch, for the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_ACCURACY, TARGET_SECONDS = 0.97, 60.0


def ember_default_run() -> tuple[float, float, str]:
    """(test accuracy, seconds, stdout) of `ember train` in a fresh folder."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "ember", "train"], cwd=tmp, capture_output=True, text=True,
                           check=True)
        seconds = time.perf_counter() - start
        test, = Path(tmp).glob("runs/digits/*/test_metrics.json")
        return json.loads(test.read_text())["accuracy"], seconds, r.stdout


TORCH_SCRIPT = r'''
import time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from ember.train.data import load_digits, _split
t0 = time.perf_counter()
torch.manual_seed(0); torch.set_num_threads(1)   # as the default ember run (threads = 1)
x, y = load_digits(); tr, va, te = _split(len(x), [0.7, 0.15, 0.15], 0)
x, y = torch.from_numpy(x), torch.from_numpy(y)
class Net(nn.Module):
    def __init__(s, w=16):
        super().__init__()
        s.conv1 = nn.Conv2d(1, w, 3, padding=1, bias=False); s.bn1 = nn.BatchNorm2d(w)
        s.conv2 = nn.Conv2d(w, 2 * w, 3, padding=1, bias=False); s.bn2 = nn.BatchNorm2d(2 * w)
        s.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * w * 4, 10))
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.bn1(s.conv1(x))), 2)
        return s.classifier(F.max_pool2d(F.relu(s.bn2(s.conv2(x))), 2))
m = Net(); opt = torch.optim.Adam(m.parameters(), 5e-3); epochs = 8
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[tr], y[tr]), batch_size=64, shuffle=True)
for e in range(epochs):
    m.train()
    for xb, yb in loader:
        opt.zero_grad(); F.cross_entropy(m(xb), yb).backward(); opt.step()
    sched.step()
m.eval()
with torch.no_grad():
    acc = (m(x[te]).argmax(1) == y[te]).float().mean().item()
print(acc, time.perf_counter() - t0)
'''


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torch", action="store_true", help="also time the same training loop in PyTorch")
    args = p.parse_args()
    acc, seconds, out = ember_default_run()
    print(out.rstrip())
    ok = acc >= TARGET_ACCURACY and seconds < TARGET_SECONDS
    print(f"\nember train (default): test accuracy {acc:.4f} (target ≥ {TARGET_ACCURACY}), "
          f"{seconds:.1f} s wall (target < {TARGET_SECONDS:.0f} s): {'PASS' if ok else 'FAIL'}")
    if args.torch:
        r = subprocess.run([sys.executable, "-c", TORCH_SCRIPT], capture_output=True, text=True, check=True)
        t_acc, t_sec = map(float, r.stdout.split())
        print(f"torch, same model and schedule (training loop only): accuracy {t_acc:.4f}, {t_sec:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
