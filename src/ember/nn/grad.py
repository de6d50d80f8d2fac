"""``torch.nn.grad``: the gradients of a convolution w.r.t. its input or its weight, given the output's gradient,
computed by ember's convolution backward (so they are differentiable again, as ``ConvolutionBackwardBackward0``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..ops.creation import zeros
from .functional._common import Tensor
from .functional._conv import _convolution_backward, _expand, _Geom

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_IntOrSeq = int | Sequence[int]


def _geom(nd: int, stride: _IntOrSeq, padding: _IntOrSeq, dilation: _IntOrSeq, groups: int) -> _Geom:
    pad = _expand(padding, nd)
    return _Geom(tuple(_expand(stride, nd)), tuple((p, p) for p in pad), tuple(_expand(dilation, nd)), groups)


def _check(input_shape: Sequence[int], weight_shape: Sequence[int]) -> None:
    if len(input_shape) != len(weight_shape):
        raise RuntimeError(f"Expected {len(weight_shape)}-dimensional input for {len(weight_shape)}-dimensional weight "
                           f"{list(weight_shape)}, but got {len(input_shape)}-dimensional input of size "
                           f"{list(input_shape)} instead")


def _stand_in(like: Tensor, shape: Sequence[int]) -> Tensor:
    """A tensor of ``shape`` whose values the requested gradient does not read (a broadcast zero)."""
    return zeros((), dtype=like.dtype, device=like.device).expand(*shape)


def _input(nd: int, input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _IntOrSeq,
           padding: _IntOrSeq, dilation: _IntOrSeq, groups: int) -> Tensor:
    shape = tuple(int(s) for s in input_size)
    _check(shape, weight.shape)
    geom = _geom(nd, stride, padding, dilation, groups)
    return _convolution_backward(grad_output, _stand_in(grad_output, shape), weight, geom, False,
                                 (True, False, False), x_shape=shape)[0]


def _weight(nd: int, input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _IntOrSeq,
            padding: _IntOrSeq, dilation: _IntOrSeq, groups: int) -> Tensor:
    shape = tuple(int(s) for s in weight_size)
    _check(input.shape, shape)
    geom = _geom(nd, stride, padding, dilation, groups)
    return _convolution_backward(grad_output, input, _stand_in(grad_output, shape), geom, False,
                                 (False, True, False))[1]


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _IntOrSeq = 1,
                 padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` w.r.t. an input of shape ``input_size``."""
    return _input(1, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _IntOrSeq = 1,
                  padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` w.r.t. a weight of shape ``weight_size``."""
    return _weight(1, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _IntOrSeq = 1,
                 padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` w.r.t. an input of shape ``input_size``."""
    return _input(2, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _IntOrSeq = 1,
                  padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` w.r.t. a weight of shape ``weight_size``."""
    return _weight(2, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _IntOrSeq = 1,
                 padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` w.r.t. an input of shape ``input_size``."""
    return _input(3, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _IntOrSeq = 1,
                  padding: _IntOrSeq = 0, dilation: _IntOrSeq = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` w.r.t. a weight of shape ``weight_size``."""
    return _weight(3, input, weight_size, grad_output, stride, padding, dilation, groups)
