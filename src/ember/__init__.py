"""ember: PyTorch's API and behaviour in Python, on NumPy (CPU) and CuPy (GPU).

``import ember as torch`` — the names here mirror the ``torch`` namespace (re-exports only).
"""

from __future__ import annotations

import numpy as _np

_np.seterr(all="ignore")   # torch reports inf/nan results silently; so does ember

from ._core.heap import keep_freed_memory as _keep_freed_memory  # noqa: E402

_keep_freed_memory()   # freed array buffers are reused, not handed back to the OS and faulted in again

from . import (  # noqa: E402
    _core,
    accelerator,
    amp,
    autograd,
    backends,
    compiler,
    cpu,
    cuda,
    fft,
    func,
    futures,
    linalg,
    nn,
    optim,
    overrides,
    random,
    safetensors,
    serialization,
    signal,
    special,
    utils,
    version,
)
from . import ops as _ops  # noqa: E402
from ._core.device import OutOfMemoryError, device, get_default_device, set_default_device  # noqa: E402
from ._core.dtype import (  # noqa: E402
    bfloat16,
    bits1x8,
    bits2x4,
    bits4x2,
    bits8,
    bits16,
    bool,
    can_cast,
    cdouble,
    cfloat,
    chalf,
    complex32,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float4_e2m1fn_x2,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    float8_e8m0fnu,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int1,
    int2,
    int3,
    int4,
    int5,
    int6,
    int7,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    qint8,
    qint32,
    quint2x4,
    quint4x2,
    quint8,
    set_default_dtype,
    short,
    uint1,
    uint2,
    uint3,
    uint4,
    uint5,
    uint6,
    uint7,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._core.memory_format import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from ._legacy import *  # noqa: E402,F403
from ._tensor import Size, Tensor  # noqa: E402
from ._tensor_str import printoptions, set_printoptions  # noqa: E402
from .autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled  # noqa: E402
from .autograd.grad_mode import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402
from .func import vmap  # noqa: E402
from .nn.functional import (  # noqa: E402  (those whose torch-level signature equals the functional one)
    adaptive_avg_pool1d,
    avg_pool1d,
    bilinear,
    celu,
    celu_,
    channel_shuffle,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    cosine_similarity,
    hardshrink,
    layer_norm,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool3d,
    native_channel_shuffle,
    pairwise_distance,
    pdist,
    pixel_shuffle,
    pixel_unshuffle,
    prelu,
    rms_norm,
    selu,
    selu_,
    threshold,
    threshold_,
)
from .nn.functional import adaptive_max_pool1d_with_indices as adaptive_max_pool1d  # noqa: E402
from .nn.functional._activation import torch_log_softmax as log_softmax  # noqa: E402
from .nn.functional._activation import torch_rrelu as rrelu  # noqa: E402
from .nn.functional._activation import torch_rrelu_ as rrelu_  # noqa: E402
from .nn.functional._activation import torch_softmax as softmax  # noqa: E402
from .nn.functional._conv import convolution  # noqa: E402
from .nn.functional._normalization import aten_batch_norm as batch_norm  # noqa: E402
from .nn.functional._normalization import aten_group_norm as group_norm  # noqa: E402
from .nn.functional._normalization import aten_instance_norm as instance_norm  # noqa: E402
from .nn.modules.rnn import (  # noqa: E402
    gru,
    gru_cell,
    lstm,
    lstm_cell,
    rnn_relu,
    rnn_relu_cell,
    rnn_tanh,
    rnn_tanh_cell,
)
from .ops.creation import (  # noqa: E402
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from .ops.creation import range_ as range  # noqa: E402
from .ops.elementwise import *  # noqa: E402,F403
from .ops.elementwise import abs, pow, round  # noqa: E402
from .ops.extra import *  # noqa: E402,F403
from .ops.indexing import *  # noqa: E402,F403
from .ops.info import *  # noqa: E402,F403
from .ops.lapack import *  # noqa: E402,F403
from .ops.linalg import *  # noqa: E402,F403
from .ops.matmul import *  # noqa: E402,F403
from .ops.quantize import (  # noqa: E402
    _empty_affine_quantized,
    _fake_quantize_learnable_per_channel_affine,
    _fake_quantize_learnable_per_tensor_affine,
    _make_per_channel_quantized_tensor,
    _make_per_tensor_quantized_tensor,
    choose_qparams_optimized,
    dequantize,
    empty_quantized,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
    fused_moving_avg_obs_fake_quant,
    int_repr,
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    q_per_channel_axis,
    q_per_channel_scales,
    q_per_channel_zero_points,
    q_scale,
    q_zero_point,
    qscheme,
    quantize_per_channel,
    quantize_per_tensor,
    quantize_per_tensor_dynamic,
    quantized_batch_norm,
    quantized_max_pool1d,
    quantized_max_pool2d,
    quantized_max_pool3d,
)
from .ops.random import *  # noqa: E402,F403
from .ops.reduction import *  # noqa: E402,F403
from .ops.reduction import all, any, max, min, sum  # noqa: E402
from .ops.shape import *  # noqa: E402,F403
from .ops.signal import *  # noqa: E402,F403
from .ops.sorting import *  # noqa: E402,F403
from .ops.special import *  # noqa: E402,F403
from .ops.tensor_storage import *  # noqa: E402,F403
from .ops.views import *  # noqa: E402,F403
from .overrides import DisableTorchFunction, DisableTorchFunctionSubclass  # noqa: E402
from .serialization import load, save  # noqa: E402
from .sparse import (  # noqa: E402
    hspmm,
    smm,
    sparse_bsc,
    sparse_bsc_tensor,
    sparse_bsr,
    sparse_bsr_tensor,
    sparse_compressed_tensor,
    sparse_coo,
    sparse_coo_tensor,
    sparse_csc,
    sparse_csc_tensor,
    sparse_csr,
    sparse_csr_tensor,
    sspaddmm,
)
from .sparse._coo import native_norm  # noqa: E402

amp.install()   # autocast wrappers on the public entry points, ember.autocast & co
from ._numpy_names import install as _install_numpy_names  # noqa: E402

_install_numpy_names()   # axis=/keepdims= for dim=/keepdim=, as torch's argument parser
from . import distributions  # noqa: E402  (its classes use the full namespace at definition time)
from .distributions._samplers import (  # noqa: E402
    _dirichlet_grad,
    _sample_dirichlet,
    _standard_gamma,
    _standard_gamma_grad,
    binomial,
)

__version__ = version.__version__   # torch's API version with ember's release as the local label
for _public in (Tensor, Size, dtype, device):   # printed (and pickled by reference) as ember.Tensor, as torch.Tensor
    _public.__module__ = __name__
del _public

from . import (  # noqa: E402
    functional,
    quasirandom,
    return_types,
    sparse,  # binds Tensor.to_sparse and friends
)
from ._more import *  # noqa: E402,F403
from .ops._overloads import FFT as _FFT_OVERLOADS  # noqa: E402
from .ops._overloads import FUNCTIONAL as _FUNCTIONAL_OVERLOADS  # noqa: E402
from .ops._overloads import FUNCTIONAL_PYTHON as _FUNCTIONAL_PYTHON_OVERLOADS  # noqa: E402
from .ops._overloads import SPECIAL as _SPECIAL_OVERLOADS  # noqa: E402
from .ops._signature import install as _install_signatures  # noqa: E402

_install_signatures(globals())   # argument errors worded as torch's parser (ops/_overloads.py)
_install_signatures(vars(nn.functional), _FUNCTIONAL_OVERLOADS)
_install_signatures(vars(nn.functional), _FUNCTIONAL_PYTHON_OVERLOADS, python=True)
_install_signatures(vars(fft), _FFT_OVERLOADS)
_install_signatures(vars(special), _SPECIAL_OVERLOADS, modules=False)
spmm = dsmm = mm  # noqa: F405  (torch's legacy names of these ops: the same kernels, errors and all)
hsmm = hspmm
saddmm = sspaddmm

_LAZY_SUBMODULES = ("distributed", "vision", "train", "testing", "hub", "profiler", "jit", "multiprocessing",
                    "__future__", "types", "storage", "xpu", "mps", "library", "ao",
                    "quantization", "fx", "onnx", "export", "nested", "masked", "_dynamo")


def __getattr__(name: str) -> object:
    """``ember.distributed``, ``ember.vision`` and ``ember.train`` import on first use (keeps ``import ember``
    light: they pull in mpi4py, PIL, scikit-learn or matplotlib only when used)."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "jagged":   # the nested layout: defined with ember.nested, which loads on first use
        from .nested._tensor import jagged
        return jagged
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
