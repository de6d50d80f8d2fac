"""ember.utils.flop_counter against torch.utils.flop_counter: per-module, per-op counts (forward and backward),
the printed table, custom formulas."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

import ember
from ember.utils.flop_counter import FlopCounterMode, register_flop_formula
from oracle import torch

HAS_TABULATE = importlib.util.find_spec("tabulate") is not None   # torch's table needs it, ember's does not
TFlopCounterMode = importlib.import_module("torch.utils.flop_counter").FlopCounterMode


def counts(lib, fn, **kw):
    """Run ``fn(lib)`` under the library's counter: the counts with op keys as text (order kept), the table."""
    mode = (FlopCounterMode if lib is ember else TFlopCounterMode)(display=False, **kw)
    with mode:
        fn(lib)
    table = mode.get_table(3) if lib is ember or HAS_TABULATE else None
    got = {m: [(str(k), v) for k, v in d.items()] for m, d in sorted(mode.get_flop_counts().items())}
    return got, mode.get_total_flops(), table


def same_as_torch(fn, **kw):
    e, t = counts(ember, fn, **kw), counts(torch, fn, **kw)
    assert e[:2] == t[:2]
    if t[2] is not None:
        assert e[2] == t[2]
    return e


def _mlp(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Sequential(nn.Linear(12, 8, bias=False), nn.Tanh()),
                         nn.Linear(8, 3))


def _convnet(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, groups=2),
                         nn.ConvTranspose2d(6, 2, 3, stride=2, output_padding=1, bias=False), nn.Flatten(),
                         nn.Linear(2 * 8 * 8, 5))


def _block(lib, sdpa):
    """A pre-norm transformer block written out: attention by scaled_dot_product_attention or by matmuls."""
    nn, F = lib.nn, lib.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.proj, self.heads = nn.Linear(8, 24), nn.Linear(8, 8), 2

        def forward(self, x):
            b, s, e = x.shape
            q, k, v = self.qkv(x).view(b, s, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)
            if sdpa:
                y = F.scaled_dot_product_attention(q, k, v[..., :3], is_causal=False)   # math path (head dims differ)
                y = lib.cat([y, v[..., 3:]], -1)
            else:
                y = (q @ k.transpose(-2, -1) / 2).softmax(-1) @ v
            return self.proj(y.transpose(1, 2).reshape(b, s, e))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.attn, self.norm2 = nn.LayerNorm(8), Attention(), nn.LayerNorm(8)
            self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    lib.manual_seed(0)
    return Block()


def test_mlp_forward_backward_and_table():
    def run(lib):
        m = _mlp(lib)
        m(lib.randn(5, 6, requires_grad=True)).sum().backward()
        m(lib.randn(4, 6)).sum().backward()       # the input needs no gradient: one mm fewer per layer
    got, total, table = same_as_torch(run)
    fwd = 2 * 5 * (6 * 12 + 12 * 8 + 8 * 3) + 2 * 4 * (6 * 12 + 12 * 8 + 8 * 3)
    assert total == 3 * fwd - 2 * 4 * 6 * 12   # the second input needs no gradient: no mm for it
    assert set(got) == {"Global", "Sequential", "Sequential.0", "Sequential.2", "Sequential.2.0", "Sequential.3"}
    assert table.splitlines()[2].startswith("Sequential ") and "- aten.addmm" in table


def test_convnet_and_no_grad():
    def run(lib):
        m = _convnet(lib)
        m(lib.randn(2, 3, 9, 9, requires_grad=True)).sum().backward()
        with lib.no_grad():
            m(lib.randn(1, 3, 9, 9))
        lib.nn.functional.conv1d(lib.randn(3, 7), lib.randn(4, 3, 2), stride=2)   # unbatched
    got, _, _ = same_as_torch(run)
    assert ("aten.convolution_backward", got["Sequential.3"][1][1]) in got["Sequential.3"]


@pytest.mark.parametrize("sdpa", [True, False])
def test_transformer_block(sdpa):
    def run(lib):
        blk = _block(lib, sdpa)
        x = lib.randn(2, 5, 8, requires_grad=True)
        blk(x).pow(2).sum().backward()
        with lib.no_grad():
            blk(x)
    got, _, table = same_as_torch(run)
    assert "aten.bmm" in dict(got["Global"]) and "Block.attn" in table


def test_matmul_forms_and_products():
    def run(lib):
        r = lib.randn
        for g in (False, True):
            for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                           ((3,), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2))]:
                y = r(*sa, requires_grad=g) @ r(*sb, requires_grad=g)
                if g:
                    y.sum().backward()
        lib.nn.functional.linear(r(3, 2, 4).transpose(0, 1), r(5, 4), r(5))   # not contiguous: matmul → mm
        lib.nn.functional.linear(r(4), r(5, 4), r(5))
        lib.baddbmm(r(2, 3, 5), r(2, 3, 4, requires_grad=True), r(2, 4, 5)).sum().backward()
        lib.addmm(r(5, requires_grad=True), r(3, 4), r(4, 5, requires_grad=True)).sum().backward()
        lib.einsum("bij,bjk->bik", r(2, 3, 4), r(2, 4, 5))
        lib.tensordot(r(2, 3, 4), r(3, 4, 5), dims=2)
        lib.linalg.multi_dot([r(2, 3), r(3, 4), r(4, 5), r(5)])
        r(3, 5).addmm_(r(3, 4), r(4, 5))   # in-place and vector products: not counted
        lib.addbmm(r(3, 5), r(2, 3, 4), r(2, 4, 5))
        lib.nn.functional.bilinear(r(2, 3), r(2, 4), r(5, 3, 4))
    same_as_torch(run)


def test_table_text_and_display(capsys):
    def run(lib):
        m = _mlp(lib)
        m(lib.randn(50, 6)).sum()
        lib.randn(30, 40) @ lib.randn(40, 50)   # outside every module: Global is listed first
    with FlopCounterMode(depth=1) as fc:
        run(ember)
    printed = capsys.readouterr().out
    assert printed == fc.get_table(1) + "\n"
    assert fc.get_table(1) == "\n".join([
        "Module            FLOP    % Total",
        "------------  --------  ---------",
        "Global        139.200K    100.00%",
        "- aten.addmm    9.600K      6.90%",
        "- aten.mm     129.600K     93.10%",
        "Sequential     19.200K     13.79%",
        "- aten.addmm    9.600K      6.90%",
        "- aten.mm       9.600K      6.90%"])
    if HAS_TABULATE:
        with TFlopCounterMode(depth=1):
            run(torch)
        assert capsys.readouterr().out == printed
    with FlopCounterMode() as fc:
        pass
    assert capsys.readouterr().out == ("Module      FLOP    % Total\n--------  ------  ---------\n"
                                       "Global         0         0%\n")
    assert fc.get_flop_counts() == {"Global": {}} and fc.get_total_flops() == 0   # the table looked Global up


def test_keys_custom_formulas_and_errors():
    with FlopCounterMode(display=False) as fc:
        ember.randn(2, 3).mm(ember.randn(3, 4))
    (key,) = fc.get_flop_counts()["Global"]
    assert str(key) == "aten.mm" and repr(key) == "<OpOverloadPacket(op='aten.mm')>"

    with FlopCounterMode(display=False, custom_mapping={ember.ops.aten.mm: lambda a, b, out_shape: 7}) as fc:
        ember.randn(2, 3).mm(ember.randn(3, 4))
        ember.randn(2, 3, requires_grad=True).mm(ember.randn(3, 4)).sum().backward()
    assert fc.get_total_flops() == 21

    with pytest.warns(UserWarning, match="mods argument is not needed anymore"):
        FlopCounterMode(ember.nn.Linear(2, 2), display=False)
    with pytest.raises(ValueError, match="expected each target to be OpOverloadPacket"):
        register_flop_formula(ember.mm)(lambda *a, **k: 0)
    with pytest.raises(RuntimeError, match="duplicate registrations for aten.mm"):
        register_flop_formula(ember.ops.aten.mm)(lambda *a, **k: 0)


def test_custom_function_backward_is_seen_and_profiler_coexists():
    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.mm(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g.mm(x.t()) + x.t().mm(g)

    x = ember.randn(3, 3, requires_grad=True)
    with ember.profiler.profile() as prof, FlopCounterMode(display=False) as fc:
        Square.apply(x).sum().backward()
    assert fc.get_flop_counts()["Global"] == {fc_key("mm"): 3 * 54}
    assert any(e.name.startswith("autograd::engine") for e in prof.events())


def fc_key(name):
    from ember.utils.flop_counter import _aten
    return _aten(name)
