"""CTC loss, Gumbel-softmax, triplet loss with a distance, adaptive log-softmax, Softmax2d, NLLLoss2d,
DataParallel and ``nn.grad``, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.grad as egrad
from oracle import assert_close, assert_same_error, to_ember, to_torch, torch

EF, TF = ember.nn.functional, torch.nn.functional
tgrad = torch.nn.grad


# ---- CTC ---------------------------------------------------------------------------------------------
def _ctc_inputs(dtype: str = "float64", T: int = 7, N: int = 3, C: int = 5, S: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, N, C))
    lp = (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)
    tg = rng.integers(1, C, (N, S))
    return lp, tg


CASES = [([7, 5, 4], [3, 2, 1]),    # ordinary
         ([7, 5, 2], [3, 2, 3]),    # the last item is infeasible (inf loss, nan gradient)
         ([0, 5, 4], [0, 2, 0]),    # empty input / empty targets
         ([7, 7, 6], [3, 3, 3])]    # repeated labels need blanks between them


@pytest.mark.parametrize("lengths", CASES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_loss_matches_torch(lengths, reduction, zero_infinity, layout):
    lp, tg = _ctc_inputs()
    if lengths[1] == [3, 3, 3]:
        tg[:, :] = [[1, 1, 2], [2, 2, 2], [3, 1, 3]]
    il, tl = lengths
    if layout == "concatenated":
        tg = np.concatenate([row[:n] for row, n in zip(tg, tl, strict=True)])
    lt = torch.tensor(lp, requires_grad=True)
    le = ember.tensor(lp, requires_grad=True)
    out_t = TF.ctc_loss(lt, torch.tensor(tg), torch.tensor(il), torch.tensor(tl), reduction=reduction,
                        zero_infinity=zero_infinity)
    out_e = EF.ctc_loss(le, ember.tensor(tg), ember.tensor(il), ember.tensor(tl), reduction=reduction,
                        zero_infinity=zero_infinity)
    assert_close(out_e, out_t)
    assert type(out_e.grad_fn).__name__ == type(out_t.grad_fn).__name__
    cot = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    out_t.backward(torch.tensor(cot))
    out_e.backward(ember.tensor(cot))
    assert_close(le.grad, lt.grad)


def test_ctc_loss_float32_tuple_lengths_and_unbatched():
    lp, tg = _ctc_inputs("float32", T=12, N=4, C=6, S=4)
    il, tl = (12, 10, 9, 5), [4, 3, 4, 1]
    for red in ("none", "mean"):
        lt = torch.tensor(lp, requires_grad=True)
        le = ember.tensor(lp, requires_grad=True)
        out_t = TF.ctc_loss(lt, torch.tensor(tg), il, tl, blank=0, reduction=red)
        out_e = EF.ctc_loss(le, ember.tensor(tg), il, tl, blank=0, reduction=red)
        assert_close(out_e, out_t, rtol=1e-5, atol=1e-5)
        out_t.sum().backward()
        out_e.sum().backward()
        assert_close(le.grad, lt.grad, rtol=1e-4, atol=1e-5)
    # unbatched (T, C) with a 1-d target; blank other than 0
    lt = torch.tensor(lp[:, 0], requires_grad=True)
    le = ember.tensor(lp[:, 0], requires_grad=True)
    tg1 = np.array([1, 2, 2, 5])
    out_t = TF.ctc_loss(lt, torch.tensor(tg1), torch.tensor([12]), torch.tensor([4]), blank=3, reduction="none")
    out_e = EF.ctc_loss(le, ember.tensor(tg1), ember.tensor([12]), ember.tensor([4]), blank=3, reduction="none")
    assert_close(out_e, out_t, rtol=1e-5, atol=1e-5)
    assert type(out_e.grad_fn).__name__ == type(out_t.grad_fn).__name__ == "SqueezeBackward1"
    out_t.backward()
    out_e.backward()
    assert_close(le.grad, lt.grad, rtol=1e-4, atol=1e-5)


def test_ctc_loss_gradcheck_and_no_double_backward():
    lp, tg = _ctc_inputs(T=5, N=2, C=4, S=2)
    x = ember.tensor(lp, requires_grad=True)
    tge = ember.tensor(tg)
    # torch's CTC gradient assumes log-softmax inputs: check it as torch does, through log_softmax
    assert ember.autograd.gradcheck(
        lambda a: EF.ctc_loss(a.log_softmax(2), tge, (5, 4), (2, 1), reduction="sum"), (x,))
    (g,) = ember.autograd.grad(EF.ctc_loss(x, tge, (5, 4), (2, 1)), x, create_graph=True)
    xt = torch.tensor(lp, requires_grad=True)
    (gt,) = torch.autograd.grad(TF.ctc_loss(xt, torch.tensor(tg), (5, 4), (2, 1)), xt, create_graph=True)
    assert type(g.grad_fn).__name__ == type(gt.grad_fn).__name__ == "NotImplemented"
    assert_same_error(lambda: g.sum().backward(), lambda: gt.sum().backward())


def test_ctc_loss_errors():
    lp, tg = _ctc_inputs()
    e_lp, t_lp = ember.tensor(lp), torch.tensor(lp)
    e_tg, t_tg = ember.tensor(tg), torch.tensor(tg)

    def both(fn_args):
        assert_same_error(lambda: EF.ctc_loss(*fn_args(ember, e_lp, e_tg)),
                          lambda: TF.ctc_loss(*fn_args(torch, t_lp, t_tg)))

    both(lambda m, a, t: (a, t, m.tensor([8, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3, 2])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3, 2, 4])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3, 2, 1]), 5))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3, 2, 1]), 0, "foo"))
    both(lambda m, a, t: (a, t, m.tensor([7.0, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3.0, 2, 1])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, -1]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a, t, m.tensor([7, 5, 2]), m.tensor([3, -1, 1])))
    both(lambda m, a, t: (a, t.flatten(), m.tensor([7, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a, t[None], m.tensor([7, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a[None], t, m.tensor([7, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a.half(), t, m.tensor([7, 5, 2]), m.tensor([3, 2, 1])))
    both(lambda m, a, t: (a[:, 0], t[0], m.tensor([7, 5, 2]), m.tensor([3, 2, 1])))   # unbatched: batch 1


def test_ctc_loss_module():
    lp, tg = _ctc_inputs()
    for kw in ({}, {"blank": 4, "reduction": "sum", "zero_infinity": True}):
        me, mt = ember.nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
        assert repr(me) == repr(mt)
        assert (me.blank, me.reduction, me.zero_infinity) == (mt.blank, mt.reduction, mt.zero_infinity)
        assert_close(me(ember.tensor(lp), ember.tensor(tg % 3 + 1), ember.tensor([7, 6, 5]), ember.tensor([3, 3, 2])),
                     mt(torch.tensor(lp), torch.tensor(tg % 3 + 1), torch.tensor([7, 6, 5]), torch.tensor([3, 3, 2])))


# ---- Gumbel-softmax ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_same_stream_and_grads(hard):
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    for dim, tau in ((-1, 1.0), (0, 0.5)):
        xt, xe = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        torch.manual_seed(7)
        ember.manual_seed(7)
        yt = TF.gumbel_softmax(xt, tau=tau, hard=hard, dim=dim)
        ye = EF.gumbel_softmax(xe, tau=tau, hard=hard, dim=dim)
        assert_close(ye, yt, rtol=1e-5, atol=1e-6)
        assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
        cot = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
        yt.backward(torch.tensor(cot))
        ye.backward(ember.tensor(cot))
        assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-6)
    if hard:
        assert ((ye == 0) | (ye == 1)).all().item() and (ye.sum(0) == 1).all().item()
    torch.manual_seed(3)   # a transposed input: the noise is still drawn in a contiguous buffer
    ember.manual_seed(3)
    assert_close(EF.gumbel_softmax(ember.tensor(x).t(), hard=hard, dim=0),
                 TF.gumbel_softmax(torch.tensor(x).t(), hard=hard, dim=0), rtol=1e-5, atol=1e-6)


def test_gumbel_softmax_eps_warning():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        EF.gumbel_softmax(ember.zeros(3), eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EF.gumbel_softmax(ember.zeros(3))


# ---- triplet loss with a distance --------------------------------------------------------------------
def _triplets():
    rng = np.random.default_rng(3)
    return [rng.standard_normal((5, 4)) for _ in range(3)]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("dist", [None, "cos"])
def test_triplet_margin_with_distance_loss(reduction, swap, dist):
    arrs = _triplets()
    te = [ember.tensor(a, requires_grad=True) for a in arrs]
    tt = [torch.tensor(a, requires_grad=True) for a in arrs]

    def fn(lib, F):
        return None if dist is None else (lambda a, b: 1 - F.cosine_similarity(a, b))

    out_e = EF.triplet_margin_with_distance_loss(*te, distance_function=fn(ember, EF), margin=1.5, swap=swap,
                                                 reduction=reduction)
    out_t = TF.triplet_margin_with_distance_loss(*tt, distance_function=fn(torch, TF), margin=1.5, swap=swap,
                                                 reduction=reduction)
    assert_close(out_e, out_t)
    assert type(out_e.grad_fn).__name__ == type(out_t.grad_fn).__name__
    out_e.sum().backward()
    out_t.sum().backward()
    for a, b in zip(te, tt, strict=True):
        assert_close(a.grad, b.grad)
    assert ember.autograd.gradcheck(
        lambda a, p, n: EF.triplet_margin_with_distance_loss(a, p, n, distance_function=fn(ember, EF), swap=swap,
                                                             margin=1.5, reduction=reduction),
        tuple(ember.tensor(a, requires_grad=True) for a in arrs))


def test_triplet_margin_with_distance_errors_and_module():
    a, p, n = _triplets()
    assert_same_error(lambda: EF.triplet_margin_with_distance_loss(*to_ember([ember.tensor(a), ember.tensor(p),
                                                                               ember.tensor(n[0])])),
                      lambda: TF.triplet_margin_with_distance_loss(torch.tensor(a), torch.tensor(p),
                                                                   torch.tensor(n[0])))
    for kw in ({"margin": 0.0}, {"reduction": "avg"}):
        assert_same_error(lambda kw=kw: EF.triplet_margin_with_distance_loss(*map(ember.tensor, (a, p, n)), **kw),
                          lambda kw=kw: TF.triplet_margin_with_distance_loss(*map(torch.tensor, (a, p, n)), **kw))
    assert_same_error(lambda: ember.nn.TripletMarginWithDistanceLoss(margin=-1),
                      lambda: torch.nn.TripletMarginWithDistanceLoss(margin=-1))
    me, mt = ember.nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss()
    assert repr(me) == repr(mt)
    assert_close(me(*map(ember.tensor, (a, p, n))), mt(*map(torch.tensor, (a, p, n))))
    kw = {"margin": 2.0, "swap": True, "reduction": "none"}
    me = ember.nn.TripletMarginWithDistanceLoss(distance_function=ember.nn.PairwiseDistance(p=1), **kw)
    mt = torch.nn.TripletMarginWithDistanceLoss(distance_function=torch.nn.PairwiseDistance(p=1), **kw)
    assert repr(me) == repr(mt)
    assert_close(me(*map(ember.tensor, (a, p, n))), mt(*map(torch.tensor, (a, p, n))))


# ---- adaptive log-softmax ------------------------------------------------------------------------------
def _asm_pair(**kw):
    torch.manual_seed(5)
    mt = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, **kw)
    ember.manual_seed(5)
    me = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, **kw)
    return me, mt


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_init_forward_grads(head_bias):
    me, mt = _asm_pair(head_bias=head_bias)
    assert repr(me) == repr(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    for k, v in mt.state_dict().items():
        assert_close(me.state_dict()[k], v, rtol=0, atol=0)
    x = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    target = np.array([0, 11, 4, 2, 7, 5])
    oe = me(ember.tensor(x), ember.tensor(target))
    ot = mt(torch.tensor(x), torch.tensor(target))
    assert type(oe).__name__ == "_ASMoutput" and oe._fields == ("output", "loss")
    assert_close(oe.output, ot.output)
    assert_close(oe.loss, ot.loss)
    lpe, lpt = me.log_prob(ember.tensor(x)), mt.log_prob(torch.tensor(x))
    for a, b in ((oe.output, ot.output), (oe.loss, ot.loss), (lpe, lpt)):
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    oe.loss.backward()
    ot.loss.backward()
    pe, pt = dict(me.named_parameters()), dict(mt.named_parameters())
    for k, v in pt.items():
        assert_close(pe[k].grad, v.grad, rtol=1e-5, atol=1e-6)
    assert_close(me.log_prob(ember.tensor(x)), mt.log_prob(torch.tensor(x)))
    with torch.no_grad():   # make the head pick clusters for some rows so predict takes every path
        mt.head.weight[4] += 3 * torch.tensor(x[1])
    me.load_state_dict({k: to_ember(v) for k, v in mt.state_dict().items()})
    assert_close(me.predict(ember.tensor(x)), mt.predict(torch.tensor(x)))
    assert_close(me.predict(ember.tensor(x[:2])), mt.predict(torch.tensor(x[:2])))
    # unbatched
    oe, ot = me(ember.tensor(x[1]), ember.tensor(target[1])), mt(torch.tensor(x[1]), torch.tensor(target[1]))
    assert_close(oe.output, ot.output)
    assert_close(oe.loss, ot.loss)


def test_adaptive_log_softmax_gradcheck_and_errors():
    me, mt = _asm_pair()
    me.double()
    x = ember.tensor(np.random.default_rng(0).standard_normal((4, 8)), requires_grad=True)
    t = ember.tensor([1, 9, 5, 11])
    assert ember.autograd.gradcheck(lambda a: me(a, t).output, (x,))
    mt.double()
    xt = torch.tensor(x.detach().numpy())
    for xe_, xt_, te_, tt_ in ((x, xt, ember.tensor([1, 12, 5, 3]), torch.tensor([1, 12, 5, 3])),
                               (x, xt, ember.tensor([1, 2]), torch.tensor([1, 2])),
                               (x[0], xt[0], ember.tensor([1]), torch.tensor([1])),
                               (x, xt, ember.tensor(1), torch.tensor(1)),
                               (x, xt, ember.zeros(4, 1, dtype=ember.int64), torch.zeros(4, 1, dtype=torch.int64))):
        assert_same_error(lambda a=xe_, b=te_: me(a, b), lambda a=xt_, b=tt_: mt(a, b))
    for cut in ([], [3, 3], [0, 4], [12], [5, 2]):
        assert_same_error(lambda c=cut: ember.nn.AdaptiveLogSoftmaxWithLoss(8, 12, c),
                          lambda c=cut: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, c))


# ---- Softmax2d, NLLLoss2d, DataParallel -----------------------------------------------------------------
def test_softmax2d_and_nllloss2d():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    me, mt = ember.nn.Softmax2d(), torch.nn.Softmax2d()
    assert repr(me) == repr(mt)
    for a in (x, x[0]):
        assert_close(me(ember.tensor(a)), mt(torch.tensor(a)))
    assert_same_error(lambda: me(ember.tensor(x[0, 0])), lambda: mt(torch.tensor(x[0, 0])))
    with pytest.warns(FutureWarning) as we:
        le = ember.nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning) as wt:
        lt = torch.nn.NLLLoss2d(ignore_index=1)
    assert str(we[0].message) == str(wt[0].message)
    assert isinstance(le, ember.nn.NLLLoss) and repr(le) == repr(lt)
    target = np.random.default_rng(1).integers(0, 3, (2, 4, 5))
    assert_close(le(ember.tensor(x).log_softmax(1), ember.tensor(target)),
                 lt(torch.tensor(x).log_softmax(1), torch.tensor(target)))


def test_data_parallel_without_gpu():
    torch.manual_seed(0)
    inner_t = torch.nn.Linear(3, 2)
    inner_e = ember.nn.Linear(3, 2)
    inner_e.load_state_dict({k: to_ember(v) for k, v in inner_t.state_dict().items()})
    dt, de = torch.nn.DataParallel(inner_t), ember.nn.DataParallel(inner_e)
    assert repr(de) == repr(dt)
    assert de.module is inner_e and de.device_ids == dt.device_ids == []
    assert list(de.state_dict()) == list(dt.state_dict()) == ["module.weight", "module.bias"]
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert_close(de(ember.tensor(x)), dt(torch.tensor(x)))
    assert list(dict(de.named_parameters())) == list(dict(dt.named_parameters()))


# ---- nn.grad ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_nn_grad_conv(nd):
    rng = np.random.default_rng(nd)
    size = {1: (9,), 2: (9, 7), 3: (5, 6, 4)}[nd]
    x = rng.standard_normal((2, 4, *size))
    w = rng.standard_normal((6, 2, *(2,) * nd))
    kw = {"stride": 3 if nd < 3 else 2, "padding": 1, "dilation": 1, "groups": 2}
    conv = getattr(TF, f"conv{nd}d")
    y = conv(torch.tensor(x), torch.tensor(w), **kw)
    g = rng.standard_normal(tuple(y.shape))
    wt, gt = torch.tensor(w, requires_grad=True), torch.tensor(g, requires_grad=True)
    we, ge = ember.tensor(w, requires_grad=True), ember.tensor(g, requires_grad=True)
    xt, xe = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    it = getattr(tgrad, f"conv{nd}d_input")(x.shape, wt, gt, **kw)
    ie = getattr(egrad, f"conv{nd}d_input")(x.shape, we, ge, **kw)
    assert_close(ie, it)
    assert type(ie.grad_fn).__name__ == type(it.grad_fn).__name__ == "ConvolutionBackwardBackward0"
    wgt = getattr(tgrad, f"conv{nd}d_weight")(xt, w.shape, gt, **kw)
    wge = getattr(egrad, f"conv{nd}d_weight")(xe, w.shape, ge, **kw)
    assert_close(wge, wgt)
    cot_i, cot_w = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    (it * torch.tensor(cot_i)).sum().add((wgt * torch.tensor(cot_w)).sum()).backward()
    (ie * ember.tensor(cot_i)).sum().add((wge * ember.tensor(cot_w)).sum()).backward()
    for a, b in ((we, wt), (ge, gt), (xe, xt)):
        assert_close(a.grad, b.grad)
    assert ember.autograd.gradcheck(
        lambda a, b: getattr(egrad, f"conv{nd}d_input")(x.shape, a, b, **kw), (we, ge))
    assert ember.autograd.gradcheck(
        lambda a, b: getattr(egrad, f"conv{nd}d_weight")(a, w.shape, b, **kw), (xe, ge))
    assert_same_error(lambda: getattr(egrad, f"conv{nd}d_input")(x.shape[:-1], we, ge),
                      lambda: getattr(tgrad, f"conv{nd}d_input")(x.shape[:-1], wt, gt))
    assert to_torch(ie).shape == it.shape


def test_ctc_loss_targets_holding_the_blank_value():
    """torch lets a label equal ``blank``: such a label may follow its predecessor directly, and at the last
    frame only position 2L-1 enters the gradient; ember follows."""
    lp, _ = _ctc_inputs(T=5, N=4, C=3)
    tg = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [2, 0, 0]])
    tl = [2, 2, 3, 3]
    lt, le = torch.tensor(lp, requires_grad=True), ember.tensor(lp, requires_grad=True)
    out_t = TF.ctc_loss(lt, torch.tensor(tg), [5] * 4, tl, reduction="none")
    out_e = EF.ctc_loss(le, ember.tensor(tg), [5] * 4, tl, reduction="none")
    assert_close(out_e, out_t)
    out_t.sum().backward()
    out_e.sum().backward()
    assert_close(le.grad, lt.grad)


def test_gumbel_softmax_gradcheck():
    x = ember.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)

    def fn(a):
        ember.manual_seed(0)   # the same noise at every evaluation
        return EF.gumbel_softmax(a, tau=0.7)

    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


def test_data_parallel_gpu_path_checks_devices(monkeypatch):
    """With GPUs (faked here) the module is moved to device_ids[0]; a module left elsewhere gets torch's error."""
    monkeypatch.setattr(ember.cuda, "is_available", lambda: True)
    monkeypatch.setattr(ember.cuda, "device_count", lambda: 2)
    moved = []
    inner = ember.nn.Linear(3, 2)
    monkeypatch.setattr(inner, "to", lambda d: moved.append(d))
    dp = ember.nn.DataParallel(inner)
    assert dp.device_ids == [0, 1] and dp.output_device == 0 and dp.dim == 0
    assert moved == [] and dp.src_device_obj == ember.device("cuda:0")   # several devices: not moved
    with pytest.raises(RuntimeError, match=r"^module must have its parameters and buffers on device cuda:0 "
                                           r"\(device_ids\[0\]\) but found one of them on device: cpu$"):
        dp(ember.zeros(1, 3))
    assert ember.nn.DataParallel(inner, device_ids=[ember.device("cuda:1")]).device_ids == [1]
    assert moved == [ember.device("cuda", 1)]
