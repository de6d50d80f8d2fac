"""Transformer workloads: a mini-GPT training step (written once against the torch API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def mini_gpt_train(lib: Any, dropout: float = 0.1) -> Callable[[], Any]:
    """Token + learned position embedding, 4 pre-norm causal TransformerEncoderLayer blocks (d_model 256,
    4 heads, ff 1024, dropout 0.1), final LayerNorm, Linear to a 512-token vocabulary; batch 8 of context
    128; cross-entropy, AdamW and clip_grad_norm_(1.0)."""
    nn, F = lib.nn, lib.nn.functional
    vocab, ctx, d, heads, ff, layers, batch = 512, 128, 256, 4, 1024, 4, 8

    class MiniGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(ctx, d)
            block = nn.TransformerEncoderLayer(d, heads, ff, dropout=dropout, batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(ctx))
            self.register_buffer("positions", lib.arange(ctx))

        def forward(self, idx: Any) -> Any:
            x = self.tok(idx) + self.pos(self.positions)
            x = self.blocks(x, mask=self.mask, is_causal=True)
            return self.head(self.norm(x))

    lib.manual_seed(0)
    model = MiniGPT()
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    data = lib.randint(0, vocab, (batch, ctx + 1))
    x, y = data[:, :-1], data[:, 1:]

    def step() -> Any:
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    return step


WORKLOADS = {"mini-GPT train step": (mini_gpt_train, 1)}
