"""The autocast casting policy, per device type, in one table (torch 2.13's AutocastCPU / AutocastCUDA lists).

Policies: ``lower`` casts eligible inputs to the autocast dtype; ``fp32`` casts them to float32;
``fp32_opt_dtype`` passes ``dtype=float32`` unless the caller gave one; ``promote`` runs in the widest
eligible input dtype; ``banned`` raises (ops unsafe to autocast). An input is eligible when it is a floating
tensor (not float64) on the autocast device. Names are looked up in ember, Tensor, ember.nn.functional,
ember.linalg, ember.special and ember.fft (see ``autocast_mode.install``).
"""

from __future__ import annotations

_MATMUL_LIKE = ("conv1d conv2d conv3d conv_tbc conv_transpose1d conv_transpose2d conv_transpose3d convolution prelu "
                "addmm matmul einsum mm linear addbmm baddbmm bmm chain_matmul multi_dot vecdot rnn_tanh_cell "
                "rnn_relu_cell scaled_dot_product_attention multi_head_attention_forward").split()

_LOSSES = ("nll_loss cross_entropy poisson_nll_loss cosine_embedding_loss hinge_embedding_loss kl_div l1_loss "
           "smooth_l1_loss huber_loss mse_loss margin_ranking_loss multilabel_margin_loss soft_margin_loss "
           "triplet_margin_loss multi_margin_loss binary_cross_entropy_with_logits").split()

_CPU_FP32 = _LOSSES + ("binary_cross_entropy ctc_loss cdist grid_sample prod avg_pool3d max_pool3d adaptive_avg_pool3d "
                       "adaptive_max_pool3d fractional_max_pool2d fractional_max_pool3d max_unpool2d max_unpool3d "
                       "quantile nanquantile polar stft istft inverse inv inv_ex cholesky cholesky_ex qr svd svdvals "
                       "eig eigvals eigh eigvalsh lstsq solve solve_ex fft ifft fft2 ifft2 fftn ifftn rfft irfft "
                       "rfft2 irfft2 rfftn irfftn hfft ihfft").split()

_CUDA_FP32 = _LOSSES + ("acos asin cosh erfinv exp expm1 log log10 log2 log1p reciprocal rsqrt sinh tan pow softplus "
                        "layer_norm group_norm cosine_similarity dist pdist cdist renorm logsumexp interpolate "
                        "upsample upsample_nearest upsample_bilinear norm").split()

_CUDA_FP32_OPT_DTYPE = "prod softmax log_softmax cumprod cumsum vector_norm matrix_norm sum".split()

_CUDA_PROMOTE = ("addcdiv addcmul atan2 bilinear cross dot vdot grid_sample index_put scatter_add tensordot cat "
                 "stack index_copy").split()

POLICY: dict[str, dict[str, str]] = {
    "cpu": {**dict.fromkeys(_MATMUL_LIKE, "lower"), **dict.fromkeys(_CPU_FP32, "fp32"),
            **dict.fromkeys(("cat", "stack", "index_copy"), "promote")},
    "cuda": {**dict.fromkeys(_MATMUL_LIKE + ["addmv", "addr", "mv", "lstm_cell", "gru_cell"], "lower"),
             **dict.fromkeys(_CUDA_FP32, "fp32"), **dict.fromkeys(_CUDA_FP32_OPT_DTYPE, "fp32_opt_dtype"),
             **dict.fromkeys(_CUDA_PROMOTE, "promote"), "binary_cross_entropy": "banned"},
}

# Operator spellings that reach a policy op under another name.
ALIASES: dict[str, tuple[str, ...]] = {"matmul": ("__matmul__", "__rmatmul__"), "pow": ("__pow__", "__rpow__")}

BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")
