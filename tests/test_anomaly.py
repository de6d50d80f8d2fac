"""Anomaly detection (``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``) against torch: the mode
flags, the NaN check in backward with torch's error, and the warnings that name the failing node."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import ember
from oracle import assert_same_error, torch


def _flags(lib: Any) -> tuple[bool, bool]:
    return lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()


def test_mode_flags_follow_torch() -> None:
    for lib in (ember, torch):
        seen = [_flags(lib)]
        with lib.autograd.detect_anomaly(check_nan=False):
            seen.append(_flags(lib))
        seen.append(_flags(lib))
        with lib.autograd.set_detect_anomaly(True):
            seen.append(_flags(lib))
        lib.set_anomaly_enabled(True, check_nan=False)
        seen.append(_flags(lib))
        lib.set_anomaly_enabled(False)
        seen.append(_flags(lib))
        lib.autograd.set_detect_anomaly(True)   # a plain call switches the mode on at once
        seen.append(_flags(lib))
        lib.set_anomaly_enabled(False)
        if lib is ember:
            ember_seen = seen
    assert ember_seen == seen


def _nan_backward(lib: Any) -> None:
    x = lib.tensor([-1.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()


def test_nan_gradient_raises_torchs_error_naming_the_node() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autograd.detect_anomaly(), torch.autograd.detect_anomaly():
            assert_same_error(lambda: _nan_backward(ember), lambda: _nan_backward(torch))


def test_warnings_name_the_node_and_the_forward_line() -> None:
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with ember.autograd.detect_anomaly():
            x = ember.tensor([-1.0], requires_grad=True)
            y = x.sqrt()   # the forward line the warning points at
            with pytest.warns(UserWarning, match="(?s)Error detected in SqrtBackward0. Traceback of forward call "
                                                 "that caused the error:\n.*test_anomaly.py.*y = x.sqrt"):
                with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th "
                                                       "output."):
                    y.backward()


def test_without_check_nan_the_backward_completes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autograd.set_detect_anomaly(True, check_nan=False):
            x = ember.tensor([-1.0], requires_grad=True)
            x.sqrt().backward()
    assert x.grad.isnan().all()


def test_a_failing_custom_backward_is_reported_with_its_forward_traceback() -> None:
    class Broken(ember.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            raise ValueError("boom")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        with ember.autograd.detect_anomaly():
            out = Broken.apply(ember.ones(2, requires_grad=True)).sum()
    with ember.autograd.set_detect_anomaly(True), pytest.warns(UserWarning, match="Error detected in BrokenBackward"):
        with pytest.raises(ValueError, match="boom"):
            out.backward()


def test_not_decorators_as_in_torch() -> None:
    def decorate(lib: Any) -> None:
        lib.autograd.set_detect_anomaly(False)(lambda: None)
    assert_same_error(lambda: decorate(ember), lambda: decorate(torch))
