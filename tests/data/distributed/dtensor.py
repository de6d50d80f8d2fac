"""Run under ``mpiexec -n 2 python dtensor.py OUT_DIR``: ember.distributed.tensor on two ranks. Each rank writes
``OUT_DIR/result_<rank>.json``: the checks made here against single-process ember and (rank 0) the facts the
parent test (tests/test_dtensor.py) compares with torch's (recorded from gloo runs of ``cases`` on two
processes).

``cases(torch, ...)`` is written against the torch API so that the same code records torch's answers."""

import json
import os
import sys
import warnings


def cases(torch, D, FL, S, R, P):
    """Placements (and global shapes) that sharding propagation gives, forward and for leaf gradients."""
    F = torch.nn.functional
    torch.manual_seed(0)
    a, b, v, c = torch.randn(4, 6), torch.randn(4, 6), torch.randn(6), torch.randn(4, 1)
    x3 = torch.randn(2, 4, 6)
    out = {}

    def mk(t, p):
        return FL(t, p) if p == P() else D(t, p)

    def note(name, f, *args):
        try:
            r = f(*args)
            out[name] = f"{''.join(map(str, r.placements))} {'x'.join(map(str, r.shape))}"
        except Exception as e:   # (the error's type and first line)
            out[name] = f"{type(e).__name__}: {str(e).splitlines()[0]}"

    pls = [S(0), S(1), R(), P()]
    for pa in pls:
        for pb in pls:
            note(f"add {pa} {pb}", lambda x, y: x + y, mk(a, pa), mk(b, pb))
            note(f"mul {pa} {pb}", lambda x, y: x * y, mk(a, pa), mk(b, pb))
            note(f"div {pa} {pb}", lambda x, y: x / y, mk(a, pa), mk(b, pb))
        for pv in (S(0), R()):
            note(f"bcast {pa} v{pv}", lambda x, y: x + y, mk(a, pa), mk(v, pv))
        note(f"bcast {pa} c", lambda x, y: x + y, mk(a, pa), D(c, S(0)))
        for name, f in [("add2", lambda t: t + 2), ("sub2", lambda t: t - 2), ("mul2", lambda t: t * 2),
                        ("neg", lambda t: -t), ("relu", torch.relu), ("exp", torch.exp), ("sum", lambda t: t.sum()),
                        ("sum0", lambda t: t.sum(0)), ("sum1k", lambda t: t.sum(1, keepdim=True)),
                        ("mean", lambda t: t.mean()), ("mean1", lambda t: t.mean(1)), ("amax", lambda t: t.amax()),
                        ("softmax1", lambda t: t.softmax(1)), ("log_softmax0", lambda t: F.log_softmax(t, 0)),
                        ("t", lambda t: t.t()), ("view24", lambda t: t.view(24) if t.placements != (S(1),) else t),
                        ("view4,2,3", lambda t: t.view(4, 2, 3)), ("reshape2,12", lambda t: t.reshape(2, 12)),
                        ("unsqueeze0", lambda t: t.unsqueeze(0)), ("clone", lambda t: t.clone()),
                        ("detach", lambda t: t.detach()), ("to64", lambda t: t.to(torch.float64)),
                        ("getitem0", lambda t: t[0]), ("getitem:,1:3", lambda t: t[:, 1:3]),
                        ("cat1", lambda t: torch.cat([t, t], 1)), ("max1", lambda t: t.max(1).values),
                        ("argmax1", lambda t: t.argmax(1)), ("var0", lambda t: t.var(0))]:
            note(f"{name} {pa}", f, mk(a, pa))
    w, bias = torch.randn(3, 6), torch.randn(3)
    for px in (S(0), S(1), R()):
        for pw in (S(0), S(1), R()):
            note(f"mm {px} {pw}", torch.mm, mk(a, px), mk(w.t().contiguous(), pw))
            for pbias in (S(0), R()):
                note(f"linear {px} {pw} {pbias}", F.linear, mk(a, px), mk(w, pw), mk(bias, pbias))
    note("linear3d S1", lambda: F.linear(D(x3, S(1)), D(w, R())))
    note("matmul3d S0", lambda: D(x3, S(0)) @ D(w.t().contiguous(), R()))
    note("bmm S0 R", lambda: torch.bmm(D(x3, S(0)), D(torch.randn(2, 6, 3), R())))
    note("layer_norm S1", lambda: F.layer_norm(D(x3, S(1)), (6,)))
    note("layer_norm S2", lambda: F.layer_norm(D(x3, S(2)), (6,)))
    note("permute S2", lambda: D(x3, S(2)).permute(2, 0, 1))
    note("transpose S1", lambda: D(x3, S(1)).transpose(1, 2))
    note("flatten S0", lambda: D(x3, S(0)).flatten(0, 1))
    note("expand S0", lambda: D(c, S(0)).expand(4, 6))
    note("plain mix", lambda: D(a, S(0)) + torch.ones(4, 6))
    note("S->P", lambda: D(a, S(0)).redistribute(placements=[P()]))
    note("uneven sum", lambda: D(torch.arange(3.0), S(0)).sum())
    note("uneven mean", lambda: D(torch.arange(3.0), S(0)).mean())
    for name, f, specs in [("g mm S0 R", lambda x, y: (x @ y).sum(), [(a, S(0)), (w.t().contiguous(), R())]),
                           ("g mm R S1", lambda x, y: (x @ y).sum(), [(a, R()), (w.t().contiguous(), S(1))]),
                           ("g mm S1 S0", lambda x, y: (x @ y).sum(), [(a, S(1)), (w.t().contiguous(), S(0))]),
                           ("g softmax", lambda x: (x.softmax(1) * x).sum(), [(a, S(0))]),
                           ("g colwise", lambda x, y, z: F.linear(x, y, z).sum(), [(a, R()), (w, S(0)), (bias, S(0))]),
                           ("g rowwise", lambda x, y, z: F.linear(x, y, z).sum(), [(a, S(1)), (w, S(1)), (bias, R())])]:
        ins = [D(t, p).requires_grad_() for t, p in specs]
        f(*ins).backward()
        out[name] = " ".join("".join(map(str, t.grad.placements)) for t in ins)
    return out


def main(out_dir):
    import ember as torch
    import ember.distributed as dist
    from ember.distributed.device_mesh import init_device_mesh
    from ember.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_module, distribute_tensor
    from ember.distributed.tensor import ones as d_ones
    from ember.distributed.tensor import rand as d_rand
    from ember.distributed.tensor import randn as d_randn
    from ember.distributed.tensor import zeros as d_zeros
    from ember.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        SequenceParallel,
        parallelize_module,
    )

    warnings.simplefilter("ignore")
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2
    S, R, P = Shard, Replicate, Partial
    mesh = init_device_mesh("cpu", (2,))
    checks = {}

    def check(name, ok):
        checks[name] = bool(ok)

    def close(x, y, tol=1e-5):   # (relative to the largest magnitude)
        return tuple(x.shape) == tuple(y.shape) and (
            x.numel() == 0 or float((x - y).abs().max()) <= tol * max(1.0, float(y.abs().max())))

    def D(t, p, m=mesh):
        return distribute_tensor(t, m, [p] if not isinstance(p, (list, tuple)) else list(p))

    def FL(t, p):
        return DTensor.from_local(t, mesh, [p])

    facts = {"cases": cases(torch, D, FL, S, R, P)}

    # ---- uneven sharding (torch.chunk sizes) and every redistribution on the 1-d mesh ----
    facts["uneven"] = [D(torch.arange(n * 1.0), S(0)).to_local().tolist() for n in (1, 3, 5)]
    g = torch.arange(30.0).reshape(5, 6)
    ok = True
    for src in (S(0), S(1), R()):
        for dst in (S(0), S(1), R()):
            d = D(g, src).redistribute(placements=[dst])
            ok &= close(d.full_tensor(), g) and d.placements == (dst,)
            ok &= close(d.to_local(), torch.chunk(g, 2, dst.dim)[rank] if isinstance(dst, Shard) else g)
    try:   # (torch: explicit redistribution to Partial is internal)
        D(g, R()).redistribute(placements=[P()])
        ok = False
    except RuntimeError as e:
        ok &= "redistributing to Partial is for internal use only!" in str(e)
    part = FL(g * (rank + 1), P())   # global value: 3 * g
    for dst in (S(0), S(1), R()):
        ok &= close(part.redistribute(placements=[dst]).full_tensor(), 3 * g)
    check("redistribute 1-d", ok)

    # ---- 2-d meshes of shape (1, 2) and (2, 1): nested shards, partial terms ----
    ok = True
    for shape in ((1, 2), (2, 1)):
        m2 = init_device_mesh("cpu", shape, mesh_dim_names=("dp", "tp"))
        coord = m2.get_coordinate()
        layouts = [(S(0), S(1)), (S(0), S(0)), (R(), S(1)), (S(1), R()), (R(), R()), (S(1), S(0))]
        for src in layouts:
            for dst in layouts:
                d = D(g, src, m2).redistribute(placements=dst)
                want = g
                for k, p in enumerate(dst):
                    if isinstance(p, Shard):
                        want = torch.chunk(want, shape[k], p.dim)[coord[k]]
                    elif isinstance(p, Partial):
                        want = want / shape[k]
                ok &= close(d.to_local(), want) and close(d.full_tensor(), g)
        for src in layouts:   # partial sums (from reductions) to every layout
            part2 = (D(g, src, m2) * 2 + 1).sum(0, keepdim=True)
            for dst in layouts:
                ok &= close(part2.redistribute(placements=dst).full_tensor(), (g * 2 + 1).sum(0, keepdim=True))
    check("redistribute 2-d", ok)

    # ---- values of ops on DTensors equal the single-process ones; gradients too ----
    torch.manual_seed(1)
    a, w, bias, v = torch.randn(4, 6), torch.randn(3, 6), torch.randn(3), torch.randn(6)
    F = torch.nn.functional
    ok = True
    for fn, specs in [
        (lambda x, y: (x @ y.t()).tanh().sum(), [(a, S(0)), (w, R())]),
        (lambda x, y, z: F.linear(x, y, z).relu().pow(2).mean(), [(a, R()), (w, S(0)), (bias, S(0))]),
        (lambda x, y, z: F.linear(x, y, z).pow(2).sum(), [(a, S(1)), (w, S(1)), (bias, R())]),
        (lambda x, y: ((x + y).softmax(1) * x).sum(), [(a, S(0)), (v, R())]),
        (lambda x, y: (x * y).exp().mean(0).sum(), [(a, S(1)), (v, S(0))]),
        (lambda x: x.view(2, 12).t().sum(1).pow(2).sum(), [(a, S(0))]),
        (lambda x, y: (x.amax(1) + (x * y).sum(1)).sum(), [(a, S(0)), (v, R())]),
        (lambda x: F.layer_norm(x, (6,)).pow(2).sum(), [(a, S(0))]),
        (lambda x: torch.cat([x, x * 2], 1)[:, 1:5].sum(), [(a, S(0))]),
    ]:
        ins = [D(t, p).requires_grad_() for t, p in specs]
        refs = [t.clone().requires_grad_() for t, _ in specs]
        y, y_ref = fn(*ins), fn(*refs)
        y.backward()
        y_ref.backward()
        ok &= close(y.full_tensor(), y_ref)
        ok &= all(close(i.grad.full_tensor(), r.grad) and i.grad.placements == i.placements
                  for i, r in zip(ins, refs, strict=True))
    check("values and gradients", ok)

    # ---- from_local, factories, random numbers, in-place, errors ----
    loc = torch.full((2, 3), float(rank))
    d = DTensor.from_local(loc, mesh, [S(0)])
    ok = d.shape == (4, 3) and d.stride() == (3, 1) and close(d.full_tensor()[2:], torch.ones(2, 3))
    r = DTensor.from_local(torch.full((2,), float(rank)), mesh, [R()], run_check=True)   # rank 0's copy wins
    ok &= close(r.to_local(), torch.zeros(2))
    check("from_local", ok)
    torch.manual_seed(3)
    dr = d_rand(5, 3, device_mesh=mesh, placements=[S(0)])
    dn = d_randn(4, 4, device_mesh=mesh, placements=[S(1)])
    torch.manual_seed(3)
    check("factories", close(dr.full_tensor(), torch.rand(5, 3)) and close(dn.full_tensor(), torch.randn(4, 4))
          and d_zeros(3, 4, device_mesh=mesh, placements=[S(1)]).to_local().shape == (3, 2)
          and d_ones((5,), device_mesh=mesh, placements=[S(0)]).to_local().tolist() == [1.0] * (3 - rank))
    with torch.no_grad():
        z = D(g.clone(), S(1))
        z.add_(D(torch.ones(5, 6), R()))
        z.mul_(2)
        torch.manual_seed(4)
        u = D(torch.empty(5, 6), S(0))
        torch.nn.init.uniform_(u)
    torch.manual_seed(4)
    check("in-place", close(z.full_tensor(), (g + 1) * 2) and z.placements == (S(1),)
          and close(u.full_tensor(), torch.nn.init.uniform_(torch.empty(5, 6))))

    # ---- tensor parallel MLP over 2 ranks == single-process training (SGD) ----
    def mlp():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    ref, tp = mlp(), mlp()
    parallelize_module(tp, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
    facts["tp_params"] = {n: [type(p).__name__, str(p.placements), list(p.to_local().shape)]
                          for n, p in tp.named_parameters()}
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    opt_tp = torch.optim.SGD(tp.parameters(), lr=0.1)
    torch.manual_seed(5)
    ok = True
    for _ in range(3):
        x, t = torch.randn(6, 5), torch.randn(6, 3)
        for model, opt in ((ref, opt_ref), (tp, opt_tp)):
            opt.zero_grad()
            loss = F.mse_loss(model(x), t)
            loss.backward()
            opt.step()
        facts["tp_grads"] = {n: str(p.grad.placements) for n, p in tp.named_parameters()}
    for p, q in zip(tp.parameters(), ref.parameters(), strict=True):
        ok &= close(p.full_tensor(), q, 1e-6)
    ok &= close(tp(x), ref(x), 1e-6)
    check("tensor parallel MLP", ok)
    for model in (ref, tp):
        F.mse_loss(model(x), t).backward()
    norms = [torch.nn.utils.clip_grad_norm_(m.parameters(), 0.1) for m in (ref, tp)]
    facts["clip_grad_norm_"] = close(norms[1].full_tensor() if isinstance(norms[1], DTensor) else norms[1], norms[0])

    # ---- sequence parallel layer norm, distribute_module ----
    torch.manual_seed(6)
    ln, ln_ref = torch.nn.LayerNorm(6), torch.nn.LayerNorm(6)
    parallelize_module(ln, mesh, SequenceParallel())
    xs = torch.randn(2, 4, 6)
    ys = ln(xs[:, 2 * rank: 2 * rank + 2])
    facts["sequence_parallel"] = [str(ys.placements), list(ys.shape), str(ln.weight.placements)]
    ys.to_local().sum().backward()
    check("sequence parallel", close(ys.full_tensor(), ln_ref(xs)) and ln.weight.grad is not None)
    lin = torch.nn.Linear(3, 2)
    distribute_module(lin, mesh)
    check("distribute_module", isinstance(lin.weight, DTensor) and lin.weight.placements == (R(),)
          and isinstance(lin.weight, torch.nn.Parameter))
    # ---- ember.save / ember.load of DTensors: same shards and placements on the same meshes' groups ----
    import io
    mesh2 = init_device_mesh("cpu", (1, 2), mesh_dim_names=("dp", "tp"))
    saved = {"w": D(g, S(1)), "tp": D(g, S(0), mesh2["tp"]), "flat": D(g, S(0), mesh2._flatten("all")),
             "state": tp.state_dict()}
    buf = io.BytesIO()
    torch.save(saved, buf)
    buf.seek(0)
    back = torch.load(buf)
    ok = back["tp"].device_mesh == mesh2["tp"]
    ok &= back["flat"].device_mesh.get_group() is saved["flat"].device_mesh.get_group()
    for k in ("w", "tp", "flat"):
        ok &= type(back[k]) is DTensor and back[k].placements == saved[k].placements
        ok &= torch.equal(back[k].to_local(), saved[k].to_local()) and torch.equal(back[k].full_tensor(), g)
    ok &= all(torch.equal(back["state"][n].full_tensor(), v.full_tensor()) for n, v in saved["state"].items())
    check("save/load", ok)
    with open(os.path.join(out_dir, f"result_{rank}.json"), "w") as f:
        json.dump({"checks": checks, "facts": facts if rank == 0 else {}}, f)


def record():
    """Record torch's answers: ``python dtensor.py record`` (gloo, two processes)."""
    import torch
    import torch.distributed as tdist
    import torch.multiprocessing as mp

    def run(rank):
        warnings.simplefilter("ignore")
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29541")
        tdist.init_process_group("gloo", rank=rank, world_size=2)
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_tensor
        mesh = init_device_mesh("cpu", (2,))
        got = cases(torch, lambda t, p: distribute_tensor(t, mesh, [p]),
                    lambda t, p: DTensor.from_local(t, mesh, [p]), Shard, Replicate, Partial)
        if rank == 0:
            print(json.dumps(got))
        tdist.destroy_process_group()
    mp.start_processes(run, nprocs=2, start_method="fork")


if __name__ == "__main__":
    record() if sys.argv[1:] == ["record"] else main(sys.argv[1])
