"""The ``ember.cuda`` / ``ember.backends`` API surface: without a GPU every name answers as a CPU-only torch build
(values, warnings, error types and messages); with the NumPy-backed CuPy stand-in (tests/fake_cupy.py) the GPU
paths map onto CuPy's API. Parts the stand-in lacks (nvtx, nvrtc, MemoryPool, ...) are patched in per test."""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ember
from oracle import assert_same_error, torch

no_gpu = pytest.mark.skipif(ember.cuda.is_available() or torch.cuda.is_available(),
                            reason="compares the no-GPU behaviour")

# torch.cuda names ember leaves out: typing/implementation imports of torch's module, allocator plug-ins and
# subsystems CuPy has no counterpart for (green contexts, GPUDirect Storage, TunableOp, NCCL bindings)
NOT_PROVIDED = {"AcceleratorError", "CUDAPluggableAllocator", "Callable", "DEVICE_REQUIREMENT", "Device",
                "GreenContext", "NewType", "Optional", "PYTORCH_RELEASES_CODE_CC", "TYPE_CHECKING",
                "caching_allocator_disabled", "caching_allocator_enable", "cast", "change_current_allocator",
                "classproperty", "gds", "green_contexts", "host_memory_stats_as_nested_dict", "importlib",
                "lru_cache", "nccl", "os", "platform", "profiler", "reset_accumulated_host_memory_stats",
                "reset_peak_host_memory_stats", "sparse", "threading", "torch", "traceback", "tunable", "warnings"}


def test_the_names_torch_has_are_there() -> None:
    missing = {n for n in dir(torch.cuda) if not n.startswith("_") and not hasattr(ember.cuda, n)}
    assert missing <= NOT_PROVIDED, sorted(missing - NOT_PROVIDED)
    for sub in ("memory", "random", "nvtx", "graphs", "streams", "jiterator"):
        names = {n for n in getattr(torch.cuda, sub).__all__} if hasattr(getattr(torch.cuda, sub), "__all__") else set()
        assert names - set(dir(getattr(ember.cuda, sub))) <= NOT_PROVIDED | {"_MemPool", "CUDAPluggableAllocator"}
    backends = {n for n in dir(torch.backends) if not n.startswith("_")} - {"m", "python_native"}
    assert backends <= set(dir(ember.backends)), sorted(backends - set(dir(ember.backends)))


def _warned(fn: Callable[[], Any]) -> tuple[Any, list[tuple[type, str]]]:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        value = fn()
    return value, [(x.category, str(x.message)) for x in w]


@no_gpu
def test_values_and_warnings_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # the defaults are compared: test_cuda.py switches torch's cudnn TF32 off for the whole session
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    cases: list[Callable[[Any], Any]] = [
        lambda lib: lib.cuda.memory_stats_as_nested_dict(), lambda lib: lib.cuda.memory_stats(),
        lambda lib: type(lib.cuda.memory_stats()).__name__, lambda lib: lib.cuda.host_memory_stats(),
        lambda lib: lib.cuda.memory_cached(), lambda lib: lib.cuda.max_memory_cached(),
        lambda lib: lib.cuda.get_arch_list(), lambda lib: lib.cuda.get_gencode_flags(),
        lambda lib: lib.cuda.is_tf32_supported(), lambda lib: (lib.cuda.has_half, lib.cuda.has_magma),
        lambda lib: lib.cuda.default_generators, lambda lib: lib.cuda.get_rng_state_all(),
        lambda lib: lib.cuda.random.get_rng_state_all(), lambda lib: lib.cuda.memory.memory_allocated(),
        lambda lib: (lib.cuda.cudaStatus.SUCCESS, lib.cuda.cudaStatus.ERROR_NOT_READY),
        lambda lib: lib.cuda.set_stream(None), lambda lib: repr(lib.cuda.FloatStorage),
        lambda lib: issubclass(lib.cuda.CudaError, RuntimeError), lambda lib: lib.cuda.stream(None).__enter__(),
        lambda lib: isinstance(lib.cuda.nvtx.range("a"), object),
        lambda lib: lib.cuda.jiterator._create_jit_fn("template <typename T> T f(T x, T a) { return a * x; }",
                                                      a=1.0).kernel_name,
        # backends
        lambda lib: (lib.backends.cudnn.is_available(), lib.backends.cudnn.version(), lib.backends.cudnn.enabled,
                     lib.backends.cudnn.benchmark, lib.backends.cudnn.benchmark_limit,
                     lib.backends.cudnn.deterministic, lib.backends.cudnn.allow_tf32,
                     lib.backends.cudnn.fp32_precision, lib.backends.cudnn.is_acceptable(lib.zeros(1))),
        lambda lib: sorted(str(d) for d in lib.backends.cudnn.CUDNN_TENSOR_DTYPES),
        lambda lib: lib.backends.cudnn.set_flags(True, False),
        lambda lib: (lib.backends.mkldnn.enabled, lib.backends.mkldnn.deterministic, lib.backends.mkldnn.allow_tf32,
                     lib.backends.mkldnn.fp32_precision, lib.backends.mkldnn.is_acl_available(),
                     lib.backends.mkldnn.set_flags(True), lib.backends.mkldnn.VERBOSE_ON_CREATION,
                     lib.backends.mkl.VERBOSE_ON, lib.backends.mkl.VERBOSE_OFF),
        lambda lib: (lib.backends.opt_einsum.is_available(), lib.backends.opt_einsum.enabled,
                     lib.backends.opt_einsum.strategy, lib.backends.opt_einsum.get_opt_einsum(),
                     lib.backends.opt_einsum.set_flags(False)),
        lambda lib: (lib.backends.quantized.engine, lib.backends.quantized.supported_engines),
        lambda lib: (lib.backends.mha.get_fastpath_enabled(), lib.backends.mha.set_fastpath_enabled(True)),
        lambda lib: (lib.backends.nnpack.set_flags(False), lib.backends.nnpack.set_flags(True)),
        lambda lib: (lib.backends.cusparselt.is_available(), lib.backends.cusparselt.version(),
                     lib.backends.cusparselt.get_max_alg_id(), lib.backends.kleidiai.is_available(),
                     lib.backends.miopen.immediate, lib.backends.flags_frozen()),
    ]
    for i, case in enumerate(cases):
        assert _warned(lambda c=case: c(ember)) == _warned(lambda c=case: c(torch)), i
    for lib in (ember, torch):   # flags() sets its defaults inside the block and restores after
        with lib.backends.cudnn.flags():
            assert not lib.backends.cudnn.enabled
        with lib.backends.mkldnn.flags(enabled=False, deterministic=True):
            assert lib.backends.mkldnn.deterministic
        assert lib.backends.cudnn.enabled and not lib.backends.mkldnn.deterministic
        lib.backends.quantized.engine = "qnnpack"
        assert lib.backends.quantized.engine == "qnnpack"
        lib.backends.quantized.engine = "x86"
    pynvml_missing = "pynvml" not in sys.modules and __import__("importlib").util.find_spec("pynvml") is None
    if pynvml_missing:
        assert ember.cuda.list_gpu_processes() == torch.cuda.list_gpu_processes()


def _record_stream(t: Any, stream: Any) -> None:
    """``t.record_stream(stream)`` (ember's Tensor binds ember.cuda.streams.record_stream once the lead adds it)."""
    if isinstance(t, ember.Tensor) and not hasattr(t, "record_stream"):
        return ember.cuda.streams.record_stream(t, stream)
    return t.record_stream(stream)


def _backend_flags_frozen(lib: Any) -> Any:
    lib.backends.disable_global_flags()
    try:
        with lib.backends.cudnn.flags(enabled=True):   # allowed inside flags()
            pass
        lib.backends.cudnn.benchmark = True
    finally:
        if lib is torch:
            vars(torch.backends)["__allow_nonbracketed_mutation_flag"] = True
        else:
            ember.backends._flags._frozen[0] = False


@no_gpu
def test_errors_without_a_gpu() -> None:
    def hooked(lib: Any) -> Any:
        m = lib.nn.Linear(2, 2)
        m.register_forward_hook(lambda *a: None)
        return m

    code = "template <typename T> T my_kernel(T x, T y, T alpha) { return -x + alpha * y; }"
    cases: list[Callable[[Any], Any]] = [
        lambda lib: lib.cuda.memory_summary(), lambda lib: lib.cuda.memory_snapshot(),
        lambda lib: lib.cuda.reset_accumulated_memory_stats(), lambda lib: lib.cuda.reset_peak_memory_stats(),
        lambda lib: lib.cuda.caching_allocator_alloc(10), lambda lib: lib.cuda.caching_allocator_delete(0),
        lambda lib: lib.cuda.get_allocator_backend(), lambda lib: lib.cuda.MemPool(),
        lambda lib: lib.cuda.get_per_process_memory_fraction(),
        lambda lib: lib.cuda.set_per_process_memory_fraction(0.5), lambda lib: lib.cuda.mem_get_info(),
        lambda lib: lib.cuda.can_device_access_peer(0, 1), lambda lib: lib.cuda.get_stream_from_external(0),
        lambda lib: lib.cuda.is_current_stream_capturing(), lambda lib: lib.cuda.ipc_collect(),
        lambda lib: lib.cuda.get_sync_debug_mode(), lambda lib: lib.cuda.set_sync_debug_mode("warn"),
        lambda lib: lib.cuda.cudart(), lambda lib: lib.cuda.check_error(0), lambda lib: lib.cuda.CudaError(1),
        lambda lib: lib.cuda.current_blas_handle(), lambda lib: lib.cuda.current_solver_handle(),
        lambda lib: lib.cuda.nvtx.range_push("a"), lambda lib: lib.cuda.nvtx.range_pop(),
        lambda lib: lib.cuda.nvtx.mark("a"), lambda lib: lib.cuda.nvtx.range_start("a"),
        lambda lib: lib.cuda.nvtx.range_end(0), lambda lib: lib.cuda.nvtx.range("a").__enter__(),
        lambda lib: lib.cuda.jiterator._create_jit_fn(code, alpha=1.0)(lib.ones(2), lib.ones(2)),
        lambda lib: lib.cuda.jiterator._create_jit_fn("int x;"),
        lambda lib: lib.cuda.jiterator._create_multi_output_jit_fn(code, num_outputs=2)(lib.ones(2)),
        lambda lib: lib.cuda.jiterator._JittedFunction(code, False, 2),
        lambda lib: lib.cuda.make_graphed_callables(lib.nn.Linear(2, 2), (lib.zeros(1, 2),)),
        lambda lib: lib.cuda.make_graphed_callables(hooked(lib), (lib.zeros(1, 2),)),
        lambda lib: lib.cuda.make_graphed_callables(lib.nn.Linear(2, 2), (lib.zeros(1, 2), 3)),
        lambda lib: _record_stream(lib.ones(2), None),
        lambda lib: setattr(lib.backends.quantized, "engine", "bad"),
        lambda lib: setattr(lib.backends.quantized, "supported_engines", []),
        lambda lib: lib.backends.opt_einsum.set_flags(True),
        lambda lib: lib.backends.opt_einsum.set_flags(None, "greedy"),
        lambda lib: lib.backends.opt_einsum.flags(enabled=True).__enter__(),
        _backend_flags_frozen,
    ]
    for case in cases:
        assert_same_error(lambda c=case: c(ember), lambda c=case: c(torch))
    for name in ("reset_max_memory_cached", "reset_max_memory_allocated"):   # FutureWarning, then the error
        with pytest.warns(FutureWarning) as e_warn, pytest.raises(AttributeError):
            getattr(ember.cuda, name)()
        with pytest.warns(FutureWarning) as t_warn, pytest.raises(AttributeError):
            getattr(torch.cuda, name)()
        assert [str(w.message) for w in e_warn] == [str(w.message) for w in t_warn]
    with warnings.catch_warnings():   # both warn (once per process) that TypedStorage is deprecated
        warnings.simplefilter("ignore")
        assert_same_error(lambda: ember.cuda.FloatStorage(3), lambda: torch.cuda.FloatStorage(3))
    assert_same_error(lambda: ember.cuda.ExternalStream(0), lambda: torch.cuda.ExternalStream(0), match_message=False)


# ---- with the CuPy stand-in: the GPU paths -----------------------------------------------------------------------
@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stand-in plus the CuPy pieces these tests reach that it lacks (recorded calls)."""
    import fake_cupy

    calls: list[tuple] = []
    nvtx = types.SimpleNamespace(available=True, RangePush=lambda m: calls.append(("push", m)),
                                 RangePop=lambda: calls.append(("pop",)), Mark=lambda m: calls.append(("mark", m)),
                                 RangeStart=lambda m, c: calls.append(("start", m)) or 7,
                                 RangeEnd=lambda i: calls.append(("end", i)))

    class RuntimeErr(RuntimeError):   # cupy.cuda.runtime.CUDARuntimeError's text
        def __init__(self, code: int) -> None:
            super().__init__({2: "cudaErrorMemoryAllocation: out of memory"}[code])

    cuda = fake_cupy.namespace().cuda
    monkeypatch.setattr(cuda, "nvtx", nvtx, raising=False)
    monkeypatch.setattr(cuda, "nvrtc", types.SimpleNamespace(getSupportedArchs=lambda: [75, 80, 90]), raising=False)
    monkeypatch.setattr(cuda, "MemoryPool", fake_cupy._Pool, raising=False)
    monkeypatch.setattr(cuda, "alloc", lambda n: fake_cupy._POOL.malloc(n), raising=False)
    monkeypatch.setattr(cuda.runtime, "CUDARuntimeError", RuntimeErr, raising=False)
    monkeypatch.setattr(cuda.runtime, "deviceCanAccessPeer", lambda a, b: 1, raising=False)

    def from_external(obj: Any) -> Any:
        s = fake_cupy._Stream()
        s.ptr = obj.__cuda_stream__()[1]
        return s
    monkeypatch.setattr(fake_cupy._Stream, "from_external", staticmethod(from_external), raising=False)
    with fake_cupy.install() as cp:
        yield cp, calls


def test_memory_api_on_the_stand_in(fake_gpu: Any) -> None:
    cp, _ = fake_gpu
    x = ember.ones(1000, device="cuda")
    stats = ember.cuda.memory_stats()
    assert list(stats) == sorted(stats) and stats["allocated_bytes.all.current"] == ember.cuda.memory_allocated()
    assert ember.cuda.memory_stats_as_nested_dict()["reserved_bytes"]["all"]["current"] == stats[
        "reserved_bytes.all.current"]
    summary = ember.cuda.memory_summary()
    assert "device ID 0" in summary and "Allocated memory" in summary and summary.endswith("|\n")
    assert all(len(line) == 77 for line in summary.splitlines())   # torch's 75-column table between bars
    assert ember.cuda.mem_get_info() == (140 << 30, 141 << 30)
    assert ember.cuda.memory_snapshot() == [] and ember.cuda.get_allocator_backend() == "native"
    assert ember.cuda.reset_accumulated_memory_stats() is None
    with pytest.warns(FutureWarning, match="renamed to `torch.cuda.memory_reserved`"):
        assert ember.cuda.memory_cached() == ember.cuda.memory_reserved()
    with pytest.warns(FutureWarning, match="resets /all/ peak memory stats"):
        ember.cuda.reset_max_memory_allocated()
    assert ember.cuda.get_per_process_memory_fraction() == 1.0
    with pytest.raises(TypeError, match="must be `float`"):
        ember.cuda.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match=r"Invalid fraction value: 1.5. Allowed range: 0~1"):
        ember.cuda.set_per_process_memory_fraction(1.5)
    ptr = ember.cuda.caching_allocator_alloc(64)
    ember.cuda.caching_allocator_delete(ptr)
    with pytest.raises(RuntimeError, match="invalid device pointer"):
        ember.cuda.caching_allocator_delete(ptr)
    with pytest.raises(TypeError, match="Invalid type for stream argument"):
        ember.cuda.caching_allocator_alloc(64, stream="s")
    pool, before = ember.cuda.MemPool(), cp.cuda.get_allocator()
    with ember.cuda.use_mem_pool(pool):
        assert cp.cuda.get_allocator() == pool._pool.malloc
    assert cp.cuda.get_allocator() is before and pool.id[0] == 0
    del x


def test_device_queries_streams_and_errors_on_the_stand_in(fake_gpu: Any) -> None:
    cp, calls = fake_gpu
    assert ember.cuda.get_arch_list() == ["sm_75", "sm_80", "sm_90"]
    assert ember.cuda.get_gencode_flags().split(" -gencode ")[-1] == "compute=compute_90,code=sm_90"
    assert ember.cuda.is_tf32_supported() and ember.cuda.can_device_access_peer(0, 0)
    with pytest.raises(AssertionError, match="Invalid peer device id"):
        ember.cuda.can_device_access_peer(0, 3)
    assert not ember.cuda.is_current_stream_capturing() and ember.cuda.ipc_collect() is None
    ember.cuda.set_sync_debug_mode("warn")
    assert ember.cuda.get_sync_debug_mode() == 1
    ember.cuda.set_sync_debug_mode(0)
    with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`"):
        ember.cuda.set_sync_debug_mode("loud")
    assert str(ember.cuda.CudaError(2)) == "out of memory (2)" and ember.cuda.check_error(0) is None
    with pytest.raises(ember.cuda.CudaError, match=r"out of memory \(2\)"):
        ember.cuda.check_error(2)
    assert ember.cuda.cudart().cudaMemGetInfo(0) == (140 << 30, 141 << 30)
    # streams: StreamContext restores the previous stream; external streams keep their pointer
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        assert ember.cuda.current_stream() == s
        with ember.cuda.StreamContext(None):
            assert ember.cuda.current_stream() == s
    assert ember.cuda.current_stream() == ember.cuda.default_stream()
    ext = ember.cuda.get_stream_from_external(1234)
    assert isinstance(ext, ember.cuda.ExternalStream) and ext.cuda_stream == 1234 and ext.__cuda_stream__() == (0, 1234)
    ember.cuda.set_stream(s)
    assert ember.cuda.current_stream() == s
    ember.cuda.set_stream(ember.cuda.default_stream())
    t = ember.ones(3, device="cuda")
    for _ in range(2):
        _record_stream(t, s)
    assert len(ember.cuda.streams._in_use) == 1   # events already complete are dropped
    with pytest.raises(NotImplementedError, match="'aten::record_stream' with arguments from the 'CPU' backend"):
        _record_stream(ember.ones(1), s)
    # nvtx ranges: depths as NVTX reports them
    assert ember.cuda.nvtx.range_push("a") == 0 and ember.cuda.nvtx.range_push("b") == 1
    assert ember.cuda.nvtx.range_pop() == 1 and ember.cuda.nvtx.range_pop() == 0 and ember.cuda.nvtx.range_pop() == -1
    with ember.cuda.nvtx.range("step {}", 3):
        ember.cuda.nvtx.mark("m")
    ember.cuda.nvtx.range_end(ember.cuda.nvtx.range_start("r"))
    assert calls == [("push", "a"), ("push", "b"), ("pop",), ("pop",), ("push", "step 3"), ("mark", "m"), ("pop",),
                     ("start", "r"), ("end", 7)]


def test_generators_storages_and_jiterator_on_the_stand_in(fake_gpu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cp, _ = fake_gpu
    ember.cuda.manual_seed(5)
    (gen,) = ember.cuda.default_generators
    assert str(gen.device) == "cuda:0" and gen.get_state().tolist() == ember.cuda.get_rng_state().tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = ember.cuda.FloatStorage([1, 2])
        assert st.is_cuda and st.tolist() == [1.0, 2.0] and ember.cuda.LongStorage(3).size() == 3
    # (as torch: a TypedStorage, an instance of the legacy class of its dtype and device type)
    assert type(st) is ember.TypedStorage and isinstance(st, ember.cuda.FloatStorage)
    assert not isinstance(st, ember.FloatStorage)
    assert repr(ember.cuda.FloatStorage) == "<class 'torch.cuda.FloatStorage'>"
    # jiterator: one ElementwiseKernel over the promoted dtype, the code as its preamble
    made: list[tuple] = []

    def kernel(in_params: str, out_params: str, operation: str, name: str, preamble: str = "") -> Any:
        made.append((in_params, out_params, operation, name, preamble))
        return lambda x, y, alpha: cp.asarray(-x.get() + alpha * y.get())
    monkeypatch.setattr(cp, "ElementwiseKernel", kernel)
    code = "template <typename T> T my_kernel(T x, T y, T alpha) { return -x + alpha * y; }"
    fn = ember.cuda.jiterator._create_jit_fn(code, alpha=1.0)
    a = ember.tensor([1.0, 2.0], device="cuda")
    b = ember.tensor([[1], [3]], device="cuda")
    out = fn(a, b, alpha=2.0)
    assert out.dtype == ember.float32 and out.device.type == "cuda"
    np.testing.assert_array_equal(out.cpu().numpy(), [[1.0, 0.0], [5.0, 4.0]])
    fn(a, b)
    assert made == [("T in0, T in1, T arg0", "T out0", "out0 = my_kernel(in0, in1, arg0)", "jiterator_my_kernel",
                     code)]   # compiled once
    with pytest.raises(KeyError, match="beta is not declared in function definition"):
        fn(a, b, beta=1.0)
    with pytest.raises(AssertionError, match="up to 8 tensor inputs, got 9"):
        fn(*[a] * 9)


def test_nvml_readings_and_graphed_callables_on_the_stand_in(fake_gpu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sensors and the process list come from pynvml (a stand-in here); make_graphed_callables' plumbing with
    capture and replay stubbed out (the stand-in cannot capture): outputs, grad_fn and the eval-mode switch."""
    proc = types.SimpleNamespace(pid=42, usedGpuMemory=3 * 2**20)
    nvml = types.SimpleNamespace(
        NVMLError_DriverNotLoaded=type("NVMLError_DriverNotLoaded", (Exception,), {}), nvmlInit=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: f"h{i}", nvmlDeviceGetComputeRunningProcesses=lambda h: [proc],
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=37, memory=12),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=5), nvmlDeviceGetTemperature=lambda h, s: 61,
        nvmlDeviceGetPowerUsage=lambda h: 250000, nvmlDeviceGetClockInfo=lambda h, k: 1980)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert ember.cuda.list_gpu_processes() == "GPU:0\nprocess         42 uses        3.000 MB GPU memory"
    c = ember.cuda
    assert (c.utilization(), c.memory_usage(), c.device_memory_used(), c.temperature(), c.power_draw(),
            c.clock_rate()) == (37, 12, 5, 61, 250000, 1980)

    class NoCapture:
        def __init__(self, g: Any, pool: Any = None, stream: Any = None) -> None:
            pass

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: Any) -> None:
            return None
    monkeypatch.setattr(ember.cuda.graphs, "graph", NoCapture)
    monkeypatch.setattr(ember.cuda.graphs.CUDAGraph, "replay", lambda self: None)
    ember.manual_seed(0)
    lin = ember.nn.Linear(3, 2).cuda()
    x = ember.randn(4, 3, device="cuda", requires_grad=True)
    eager = lin(x)
    graphed = ember.cuda.make_graphed_callables(lin, (x,), num_warmup_iters=1)
    assert graphed is lin
    out = lin(x)   # the same input as the sample: the static output is the eager result
    assert type(out.grad_fn).__name__ == "GraphedBackward"
    np.testing.assert_allclose(out.detach().cpu().numpy(), eager.detach().cpu().numpy(), rtol=1e-6)
    out.sum().backward()
    assert x.grad.shape == x.shape and lin.weight.grad.shape == lin.weight.shape
    lin.eval()
    assert type(lin(x).grad_fn).__name__ == "AddmmBackward0"   # eval mode: the eager forward
