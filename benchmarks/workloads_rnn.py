"""Recurrent workloads: an LSTM training step and the LSTM layer alone (forward + backward)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lstm_train_step(lib: Any) -> Callable[[], Any]:
    """1-layer LSTM (input 64, hidden 256) over 50 steps of a batch of 32, a Linear head on the last
    output, cross-entropy over 10 classes, Adam."""
    nn = lib.nn
    lib.manual_seed(0)
    lstm = nn.LSTM(64, 256)
    head = nn.Linear(256, 10)
    opt = lib.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    x = lib.randn(50, 32, 64)
    y = lib.randint(0, 10, (32,))

    def step() -> Any:
        opt.zero_grad()
        out, _ = lstm(x)
        loss = nn.functional.cross_entropy(head(out[-1]), y)
        loss.backward()
        opt.step()
        return loss
    return step


def lstm_fwd_bwd(lib: Any) -> Callable[[], Any]:
    """The LSTM layer of the train step alone: forward and backward (input and weight gradients)."""
    lib.manual_seed(0)
    lstm = lib.nn.LSTM(64, 256)
    x = lib.randn(50, 32, 64, requires_grad=True)

    def step() -> Any:
        out, (h, c) = lstm(x)
        loss = out.sum() + c.sum()
        loss.backward()
        return loss
    return step


WORKLOADS: dict[str, tuple[Callable[[Any], Callable[[], Any]], int]] = {
    "lstm train step (in 64, hidden 256, seq 50, batch 32)": (lstm_train_step, 1),
    "lstm fwd+bwd (in 64, hidden 256, seq 50, batch 32)": (lstm_fwd_bwd, 1),
}
