"""ember.profiler / ember.autograd.profiler against torch's CPU profiler: recorded op names, nesting and
self-time invariants, table layout, schedule steps and on_trace_ready calls, Chrome trace files,
record_function, errors. Times are never compared (only invariants between them)."""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import pytest

import ember
import ember.autograd.profiler as eap
import ember.profiler as ep
from ember.autograd import graph
from ember.autograd.profiler_util import EventList, FunctionEvent, FunctionEventAvg, _format_memory, _format_time
from oracle import assert_same_error, torch

tp = torch.profiler
tap = torch.autograd.profiler


def _run(lib: Any, prof_mod: Any, program: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with prof_mod.profile(activities=[prof_mod.ProfilerActivity.CPU], **kw) as p:
            program(lib)
    return p


def _linear_program(lib: Any) -> None:
    x = lib.ones(4, 3)
    w = lib.ones(3, 5, requires_grad=True)
    b = lib.ones(5, requires_grad=True)
    with (tp if lib is torch else ep).record_function("my_block"):
        y = x @ w + b
    z = lib.nn.functional.linear(x, w.t(), b).relu().sum() + y.sum()
    z.backward()


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    return (_run(ember, ep, _linear_program, record_shapes=True, profile_memory=True),
            _run(torch, tp, _linear_program, record_shapes=True, profile_memory=True))


def _names(p: Any) -> set[str]:
    return {e.name for e in p.events()}


def test_x_matmul_w_plus_b_names_match_torch() -> None:
    def prog(lib: Any) -> None:
        x, w, b = lib.ones(4, 3), lib.ones(3, 5), lib.ones(5)
        x @ w + b

    e, t = _run(ember, ep, prog), _run(torch, tp, prog)
    top = {ev.name for ev in t.events() if ev.name in ("aten::matmul", "aten::mm", "aten::add")}
    assert top == {"aten::matmul", "aten::mm", "aten::add"}
    names = [ev.name for ev in e.events() if ev.name not in ("aten::ones",)]
    assert names == ["aten::matmul", "aten::mm", "aten::add"]
    mm = next(ev for ev in e.events() if ev.name == "aten::mm")
    assert mm.cpu_parent is not None and mm.cpu_parent.name == "aten::matmul"


def test_forward_backward_names_are_torch_names(both: tuple[Any, Any]) -> None:
    e, t = both
    wanted = {"my_block", "aten::matmul", "aten::mm", "aten::add", "aten::linear", "aten::addmm", "aten::t",
              "aten::relu", "aten::clamp_min", "aten::sum",
              "autograd::engine::evaluate_function: AddmmBackward0", "AddmmBackward0",
              "autograd::engine::evaluate_function: ReluBackward0", "ReluBackward0", "SumBackward0",
              "autograd::engine::evaluate_function: torch::autograd::AccumulateGrad",
              "torch::autograd::AccumulateGrad", "TBackward0", "AddBackward0"}
    assert wanted <= _names(t)
    assert wanted <= _names(e)
    for p in both:   # the same parent/child structure for the named ops
        parent: dict[str, set] = {}
        for ev in p.events():
            parent.setdefault(ev.name, set()).add(ev.cpu_parent.name if ev.cpu_parent else None)
        assert {"aten::matmul", "AddmmBackward0"} <= parent["aten::mm"]
        assert parent["aten::addmm"] == {"aten::linear"}
        assert "autograd::engine::evaluate_function: AddBackward0" in parent["aten::sum"]   # broadcast grad of b
        assert parent["aten::clamp_min"] == {"aten::relu"}
        assert parent["aten::matmul"] == {"my_block"}
        assert parent["AddmmBackward0"] == {"autograd::engine::evaluate_function: AddmmBackward0"}
        assert parent["torch::autograd::AccumulateGrad"] == \
            {"autograd::engine::evaluate_function: torch::autograd::AccumulateGrad"}


def test_counts_match_torch(both: tuple[Any, Any]) -> None:
    keys = ("aten::matmul", "aten::addmm", "aten::linear", "aten::relu", "my_block", "AddmmBackward0",
            "torch::autograd::AccumulateGrad", "autograd::engine::evaluate_function: TBackward0")
    counts = [{a.key: a.count for a in p.key_averages()} for p in both]
    assert [counts[0][k] for k in keys] == [counts[1][k] for k in keys]
    assert counts[0]["torch::autograd::AccumulateGrad"] == 2


def test_nesting_and_self_time_invariants(both: tuple[Any, Any]) -> None:
    events = both[0].events()
    assert len(events) > 20
    for ev in events:
        assert ev.time_range.start <= ev.time_range.end
        assert 0 <= ev.self_cpu_time_total <= ev.cpu_time_total
        assert sum(c.cpu_time_total for c in ev.cpu_children) <= ev.cpu_time_total + 1e-6
        for c in ev.cpu_children:
            assert c.cpu_parent is ev and c.thread == ev.thread
            assert ev.time_range.start <= c.time_range.start and c.time_range.end <= ev.time_range.end
    avg = both[0].key_averages()
    assert sum(a.self_cpu_time_total for a in avg) == pytest.approx(events.self_cpu_time_total)
    total = events.total_average()
    assert total.key == "Total" and total.count == len(events)


def test_memory_and_shapes_like_torch(both: tuple[Any, Any]) -> None:
    for p in both:
        ev: dict[str, Any] = {}
        for e in p.events():
            ev.setdefault(e.name, e)   # first (forward) occurrence
        assert ev["aten::add"].cpu_memory_usage == 80          # one fresh 4x5 float32 result
        assert ev["aten::mm"].input_shapes[:2] in ([[4, 3], [3, 5]], [[3, 4], [4, 5]])
        assert ev["aten::matmul"].self_cpu_memory_usage == 0   # its mm child allocated the result
        assert ev["aten::t"].cpu_memory_usage == 0             # a view allocates nothing
        assert ev["aten::linear"].input_shapes == [[4, 3], [5, 3], [5]]
    by_shape = {(a.key, str(a.input_shapes)) for a in both[0].key_averages(group_by_input_shape=True)}
    assert ("aten::matmul", "[[4, 3], [3, 5]]") in by_shape
    assert all(a.input_shapes == "" for a in both[0].key_averages())


def _table_lines(p: Any, **kw: Any) -> list[str]:
    return p.key_averages(**kw).table(sort_by="cpu_time_total", row_limit=10).splitlines()


def test_table_layout_matches_torch(both: tuple[Any, Any]) -> None:
    for kw in ({}, {"group_by_input_shape": True}):
        e, t = (_table_lines(p, **kw) for p in both)
        assert len(e) == len(t) == 10 + 5
        n = 55 + 9 * 14   # name and value columns (the shapes column's width follows the longest shapes)
        assert e[0][:n] == t[0][:n] and e[1][:n] == t[1][:n] and e[2] == e[0] and t[2] == t[0]
        assert e[-2] == e[0] and t[-2] == t[0]
        assert e[-1].startswith("Self CPU time total: ") and t[-1].startswith("Self CPU time total: ")
        for lines in (e, t):   # every row as wide as the rules
            assert all(len(line) == len(lines[0]) for line in lines[3:-2])
        assert e[1].split() == t[1].split()
    header = _table_lines(both[0])[1]
    assert header.split("  ")[-2].strip() == "# of Calls" and "Self CPU Mem" in header


def test_table_without_memory_and_row_limit() -> None:
    def prog(lib: Any) -> None:
        a = lib.ones(2, 2)
        a.add(a)

    e, t = _run(ember, ep, prog), _run(torch, tp, prog)
    for p in (e, t):
        lines = p.key_averages().table(row_limit=1).splitlines()
        assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total",
                                    "CPU", "time", "avg", "#", "of", "Calls"]
        assert len(lines) == 6
    assert e.key_averages().table(row_limit=0).splitlines()[1].endswith("# of Calls  ")
    assert EventList([]).table() == ""


def test_long_names_are_cut_as_torch(both: tuple[Any, Any]) -> None:
    key = "autograd::engine::evaluate_function: torch::autograd..."
    for p in both:
        assert any(line.lstrip().startswith(key) for line in p.key_averages().table(row_limit=-1).splitlines())


def test_formatting_helpers() -> None:
    assert [_format_time(t) for t in (1.5, 1500.0, 2.5e6)] == ["1.500us", "1.500ms", "2.500s"]
    assert [_format_memory(b) for b in (80, -80, 2048, 3 << 20, 5 << 30)] == \
        ["80 B", "-80 B", "2.00 KB", "3.00 MB", "5.00 GB"]


def test_wrappers_removed_after_profile_and_no_cost_when_off() -> None:
    originals = (ember.Tensor.__add__, ember.matmul, ember.nn.functional.linear, ember.linalg.det,
                 ember.nn.ReLU.fn)
    with ep.profile() as p:
        assert ember.matmul is not originals[1] and ember.Tensor.__add__ is not originals[0]
        assert graph.PROFILER[0] is not None
        ember.nn.ReLU()(ember.ones(2))
    assert (ember.Tensor.__add__, ember.matmul, ember.nn.functional.linear, ember.linalg.det,
            ember.nn.ReLU.fn) == originals
    assert graph.PROFILER[0] is None and not eap._ACTIVE
    assert "aten::relu" in _names(p)   # a module holding the op as a staticmethod is seen too
    ember.ones(2) + 1                  # nothing recorded any more
    assert "aten::add" not in _names(p)


def test_op_error_closes_events() -> None:
    with ep.profile() as p:
        with pytest.raises(RuntimeError):
            ember.ones(2, 3) @ ember.ones(2, 3)
        ember.ones(2).add(1)
    ev = {e.name: e for e in p.events()}
    assert ev["aten::add"].cpu_parent is None   # the failed matmul's event was closed
    assert ev["aten::matmul"].time_range.end >= ev["aten::matmul"].time_range.start


def _schedule_program(lib: Any, prof_mod: Any, **kw: Any) -> tuple[list, Any]:
    calls: list = []

    def handler(p: Any) -> None:
        ev = p.events()
        calls.append((p.step_num, [e.trace_name for e in ev if e.name == "ProfilerStep*"],
                      sum(e.name == "aten::add" for e in ev)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with prof_mod.profile(activities=[prof_mod.ProfilerActivity.CPU], on_trace_ready=handler,
                              schedule=prof_mod.schedule(**kw)) as p:
            for i in range(9):
                lib.ones(2).add(i)
                p.step()
    return calls, p


@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2, repeat=1),
                                dict(wait=1, warmup=1, active=2, repeat=2),
                                dict(wait=0, warmup=1, active=1, skip_first=2),
                                dict(wait=2, warmup=1, active=1, skip_first=1, skip_first_wait=1)])
def test_schedule_steps_and_trace_ready_like_torch(kw: dict) -> None:
    (ce, pe), (ct, pt) = _schedule_program(ember, ep, **kw), _schedule_program(torch, tp, **kw)
    assert ce == ct and ce
    assert pe.step_num == pt.step_num and pe.current_action.name == pt.current_action.name


def test_schedule_function_and_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in (dict(wait=1, warmup=1, active=2, repeat=1, skip_first=1), dict(wait=0, warmup=0, active=3)):
            assert [ep.schedule(**kw)(i).name for i in range(9)] == [tp.schedule(**kw)(i).name for i in range(9)]
    with pytest.warns(UserWarning, match="won't be using warmup"):
        ep.schedule(wait=1, warmup=0, active=1)
    assert_same_error(lambda: ep.schedule(wait=0, warmup=0, active=0), lambda: tp.schedule(wait=0, warmup=0, active=0))
    s = ep.schedule(wait=0, warmup=1, active=1)
    with pytest.raises(AssertionError, match="Step must be non-negative"):
        s(-1)
    assert [a.name for a in ep.ProfilerAction] == [a.name for a in tp.ProfilerAction]
    assert {a.name: a.value for a in ep.ProfilerActivity} == {k: int(v) for k, v in
                                                              tp.ProfilerActivity.__members__.items()}
    assert ep.supported_activities() == {ep.ProfilerActivity.CPU}


def test_chrome_trace_and_tensorboard_handler(tmp_path: Any) -> None:
    path = str(tmp_path / "trace.json")
    with ep.profile(record_shapes=True) as p:
        with ep.record_function("region"):
            ember.ones(2, 2).sum()
    p.export_chrome_trace(path)
    doc = json.load(open(path))
    assert os.listdir(tmp_path) == ["trace.json"]   # written atomically, no temporary left behind
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert {e["name"] for e in xs} >= {"region", "aten::ones", "aten::sum"}
    cats = {e["name"]: e["cat"] for e in xs}
    assert cats["region"] == "user_annotation" and cats["aten::sum"] == "cpu_op"
    assert all(e["dur"] >= 0 and isinstance(e["ts"], float) for e in xs)
    assert next(e for e in xs if e["name"] == "aten::sum")["args"]["Input Dims"] == [[2, 2]]
    p.export_chrome_trace(str(tmp_path / "trace.json.gz"))
    import gzip

    assert json.loads(gzip.open(tmp_path / "trace.json.gz").read())["traceEvents"]
    out = tmp_path / "tb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ep.profile(schedule=ep.schedule(wait=0, warmup=1, active=1),
                        on_trace_ready=ep.tensorboard_trace_handler(str(out), worker_name="w")) as p:
            for _ in range(4):
                ember.ones(2) * 2
                p.step()
    files = sorted(os.listdir(out))
    assert len(files) == 2 and all(f.startswith("w.") and f.endswith(".pt.trace.json") for f in files)
    names = [e["name"] for e in json.load(open(out / files[0]))["traceEvents"] if e["ph"] == "X"]
    assert "ProfilerStep#1" in names and "aten::mul" in names
    legacy = tmp_path / "legacy.json"
    with ep.profile() as p:
        ember.ones(2) * 2
    p.events().export_chrome_trace(str(legacy))
    assert {e["name"] for e in json.load(open(legacy))} >= {"aten::mul"}


def test_record_function_decorator_context_and_nesting() -> None:
    @ep.record_function("deco")
    def f(x: Any) -> Any:
        return (x * 2).sum()

    assert f(ember.ones(2)).item() == 4.0   # outside a profile: a plain call
    with eap.profile() as ap:
        f(ember.ones(2))
        f(ember.ones(2))
        with ep.record_function("outer"), eap.record_function("inner", "args"):
            ember.ones(1)
        with pytest.raises(ValueError), ep.record_function("boom"):
            raise ValueError
    ev = ap.function_events
    parents = [(e.name, e.cpu_parent.name if e.cpu_parent else None) for e in ev
               if e.name in ("deco", "aten::mul", "aten::sum", "inner", "boom")]
    assert parents == [("deco", None), ("aten::mul", "deco"), ("aten::sum", "deco")] * 2 + \
        [("inner", "outer"), ("boom", None)]
    counts = {a.key: a.count for a in ap.key_averages()}
    assert counts["deco"] == 2 and counts["aten::mul"] == 2
    assert ep.record_function is eap.record_function


def test_errors_like_torch() -> None:
    for attr in ("key_averages", "events"):
        assert_same_error(lambda a=attr: getattr(ep.profile(), a)(), lambda a=attr: getattr(tp.profile(), a)())
    assert_same_error(lambda: ep.profile().export_chrome_trace("x.json"),
                      lambda: tp.profile().export_chrome_trace("x.json"))
    with ep.profile() as p:
        assert len(p.key_averages()) == 0 and len(p.events()) == 0   # torch: empty until the profile ends
    ap = eap.profile()
    assert len(ap.key_averages()) == 0
    ap = eap.profile()
    with ap:
        with pytest.raises(RuntimeError, match="Profiler context manager is not reentrant"):
            ap.__enter__()
    assert repr(eap.profile()) == "<unfinished torch.autograd.profile>"
    with pytest.raises(ValueError, match="specified more than once"):
        ep.profile(activities=[ep.ProfilerActivity.CPU, ep.ProfilerActivity.CPU])
    with pytest.raises(AssertionError, match="No valid profiler activities found"):
        ep.profile(activities=[])
    with pytest.raises(ValueError, match="DEVICE_STOPPED"):
        ep.profile(schedule=lambda step: ep.ProfilerAction.DEVICE_STOPPED)
    with pytest.raises(ValueError, match="metric should be one of"):
        EventList([]).export_stacks("x", "bad")
    with pytest.raises(AssertionError, match="tree to be built"):
        EventList([]).key_averages()


def test_autograd_profiler_api() -> None:
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ap = eap.profile(use_device="cuda")
    with eap.profile(use_cuda=False, record_shapes=True, with_stack=True) as ap:
        y = ember.ones(3, requires_grad=True).exp().sum()
        y.backward()
    avg = {a.key: a for a in ap.key_averages()}
    assert isinstance(avg["aten::exp"], FunctionEventAvg)
    exp = next(e for e in ap.function_events if e.name == "aten::exp")
    assert isinstance(exp, FunctionEvent) and exp.count == 1 and exp.input_shapes == [[3]]
    assert exp.cpu_time == exp.cpu_time_total and exp.key == "aten::exp"
    assert exp.stack and "test_profiler.py" in exp.stack[0]
    assert "ExpBackward0" in avg and avg["ExpBackward0"].count == 1
    assert ap.self_cpu_time_total == pytest.approx(ap.function_events.self_cpu_time_total)
    assert "Source Location" in ap.table(row_limit=3)
    assert str(ap).startswith("---") and "aten::exp" in str(ap)
    assert repr(exp).startswith("<FunctionEvent id=") and repr(avg["aten::exp"]).startswith("<FunctionEventAvg")
    with eap.profile(enabled=False) as off:
        ember.ones(1)
    assert off is None
    with eap.emit_nvtx(), eap.emit_itt(), ep.itt.range("x"):
        ember.ones(1)


def test_schedule_acc_events_and_nested_profiles() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ep.profile(schedule=ep.schedule(wait=0, warmup=1, active=1, repeat=2), acc_events=True) as p:
            for i in range(4):
                ember.ones(1).add(i)
                p.step()
    assert sum(e.name == "aten::add" for e in p.events()) == 2
    with ep.profile() as outer:
        ember.ones(1).neg()
        with ep.profile() as inner:
            ember.ones(1).exp()
    assert "aten::exp" in _names(inner) and "aten::neg" not in _names(inner)
    assert {"aten::exp", "aten::neg"} <= _names(outer)
    assert graph.PROFILER[0] is None


def test_indexing_names_like_torch() -> None:
    x = ember.ones(3, 4)
    keys = [(0, 1), (slice(None), 0), None, (Ellipsis, 0), [0, 1], (slice(1, None),)]
    for key in keys:
        with ep.profile() as e:
            x[key]
        with tp.profile() as t:
            torch.ones(3, 4)[key]
        first = next(ev.name for ev in t.events() if ev.name in ("aten::select", "aten::slice", "aten::unsqueeze",
                                                                   "aten::index"))
        assert [ev.name for ev in e.events()][0] == first, key


def test_sequence_numbers_and_backward_stacks() -> None:
    x = ember.ones(3, requires_grad=True)
    with ep.profile(with_stack=True) as p:
        y = x.exp()
        y.sum().backward()
    ev = {e.name: e for e in p.events()}
    assert ev["aten::exp"].sequence_nr == y.grad_fn._sequence_nr() == ev["ExpBackward0"].sequence_nr
    assert ev["autograd::engine::evaluate_function: ExpBackward0"].sequence_nr == ev["aten::exp"].sequence_nr
    assert ev["ExpBackward0"].stack == ev["aten::exp"].stack   # backward events report the forward op's stack
    assert ev["aten::exp"].stack[0].endswith("test_sequence_numbers_and_backward_stacks")


def test_cuda_activity_without_gpu_like_torch() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # both warn that CUDA is unavailable first
        assert_same_error(lambda: ep.profile(activities=[ep.ProfilerActivity.CUDA]).__enter__(),
                          lambda: tp.profile(activities=[tp.ProfilerActivity.CUDA]).__enter__())
    with pytest.warns(UserWarning, match="CUDA is not available, disabling CUDA profiling"):
        with ep.profile(activities=[ep.ProfilerActivity.CPU, ep.ProfilerActivity.CUDA]) as p:
            ember.ones(1)
    assert p.events()[0].use_device is None


def test_with_flops_like_torch() -> None:
    def prog(lib: Any) -> None:
        x, w, b = lib.ones(4, 3), lib.ones(5, 3), lib.ones(5)
        lib.nn.functional.linear(x, w, b)
        x @ w.t()
        x + x
        lib.bmm(lib.ones(2, 4, 3), lib.ones(2, 3, 5))
        lib.nn.functional.conv2d(lib.ones(1, 2, 5, 5), lib.ones(3, 2, 3, 3))
        lib.baddbmm(lib.ones(2, 4, 5), lib.ones(2, 4, 3), lib.ones(2, 3, 5))

    e, t = _run(ember, ep, prog, with_flops=True), _run(torch, tp, prog, with_flops=True)
    flops = [sorted((ev.name, ev.flops) for ev in p.events() if ev.flops) for p in (e, t)]
    assert flops[0] == flops[1] and ("aten::conv2d", 972) in flops[0]
    tables = [p.key_averages().table(sort_by="flops", row_limit=3).splitlines() for p in (e, t)]
    assert tables[0][1].split("  ")[-2:] == tables[1][1].split("  ")[-2:] == [" Total FLOPs", ""]
    assert [row[-14:] for row in tables[0][3:6]] == [row[-14:] for row in tables[1][3:6]]


def test_module_network_top_level_ops_match_torch() -> None:
    def prog(lib: Any) -> None:
        lib.manual_seed(0)
        nn = lib.nn
        m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.1), nn.Linear(12, 4), nn.LayerNorm(4), nn.GELU())
        x = lib.randn(2, 2, 6, 6)
        with (tp if lib is torch else ep).profile() as p:
            lib.nn.functional.cross_entropy(m(x), lib.ones(2, dtype=lib.long)).backward()
        out.append([e.name for e in p.events() if e.cpu_parent is None and e.name != "aten::ones_like"])

    out: list = []
    prog(ember)
    prog(torch)
    assert out[0] == out[1]


def test_optimizer_ranges_like_torch() -> None:
    def prog(lib: Any, prof_mod: Any) -> list:
        m = lib.nn.Linear(2, 2)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        m(lib.ones(1, 2)).sum().backward()
        with prof_mod.profile() as p:
            opt.step()
            opt.zero_grad()
        return [(e.name, e.is_user_annotation) for e in p.events() if e.cpu_parent is None]

    step = ember.optim.SGD.__dict__["step"]
    assert prog(ember, ep) == prog(torch, tp) == [("Optimizer.step#SGD.step", True),
                                                  ("Optimizer.zero_grad#SGD.zero_grad", True)]
    assert ember.optim.SGD.__dict__["step"] is step   # restored
