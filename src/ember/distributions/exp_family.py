"""Exponential-family base class (torch.distributions.ExponentialFamily): entropy and KL by Bregman divergence."""

from __future__ import annotations

import ember

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Densities ``exp(<t(x), theta> - F(theta) + k(x))``; subclasses give ``_natural_params`` (theta),
    ``_log_normalizer`` (F) and ``_mean_carrier_measure`` (E[k(x)])."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):  # noqa: ANN002, ANN202
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):  # noqa: ANN202
        raise NotImplementedError

    def entropy(self):  # noqa: ANN201
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]``, the gradient by autograd."""
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        log_norm = self._log_normalizer(*params)
        grads = ember.autograd.grad(log_norm.sum(), params, create_graph=True)
        result = result + log_norm
        for p, g in zip(params, grads, strict=True):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
