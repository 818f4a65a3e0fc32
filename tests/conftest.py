"""Shared test settings.

Hypothesis profiles (pick one with ``HYPOTHESIS_PROFILE=<name>``):

``dev``  (default) a modest number of examples so the whole suite stays fast.
``ci``   more examples, derandomized so a CI failure reproduces exactly.

No deadlines: gradient checks run the function twice per input element, and the
machine may be shared with other builds.

``keras_or_skip`` (``from conftest import keras_or_skip``) gives the Keras cross-checks
their Keras, or skips them; ``import_keras`` gives Keras or the reason it is missing.
``arrays``, ``shapes``, ``broadcast_pairs`` and ``gradcheck`` are the float64 strategies and
the gradient check of the op tests (test_ops_math.py, test_ops_shapes.py).
``reference_pads`` is the padding rule the convolution references use (test_bad_input.py keeps
its own copy inside the source of the child process it runs).
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=60, derandomize=True, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# MINIGRAD_TEST_INSTALLED=1 (CI, for its non-editable and no-compiler installs): the suite
# tests the installed minigrad, run from outside the checkout; importing the source tree by
# accident would test the wrong thing, so it is an error.
if os.environ.get("MINIGRAD_TEST_INSTALLED", "0").strip() not in ("", "0"):
    import pathlib

    import minigrad

    _source = pathlib.Path(__file__).resolve().parents[1] / "minigrad"
    if pathlib.Path(minigrad.__file__).resolve().parent == _source:
        raise RuntimeError(f"MINIGRAD_TEST_INSTALLED is set but minigrad was imported from the "
                           f"source tree {_source}: run pytest from another directory.")


def import_keras():
    """``(keras, None)``, or ``(None, why not)`` when keras cannot be imported (on the torch
    backend unless ``KERAS_BACKEND`` names another)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except Exception as error:                  # ImportError, or a backend that won't load
        return None, f"keras unavailable: {error}"
    return keras, None


def keras_or_skip(module_level=False):
    """Keras 3 running on the torch backend, for the cross-checks against Keras; skips the
    test (with ``module_level=True``, called at import: the whole module) when torch or
    keras cannot be imported, or keras was set up for another backend. CI installs both."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import torch  # noqa: F401
    except ImportError as error:
        pytest.skip(f"torch unavailable: {error}", allow_module_level=module_level)
    keras, why_not = import_keras()
    if keras is None:
        pytest.skip(why_not, allow_module_level=module_level)
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on {keras.backend.backend()!r}, not torch",
                    allow_module_level=module_level)
    return keras


def reference_pads(length, kernel, stride, dilation, padding):
    """(before, after) padding of one spatial axis, from the formulas in the convolution
    layers' docstrings: the float64 references the kernel and layer tests compare against.
    ``padding`` is "valid", "causal" or "same" (the extra element, if odd, goes after)."""
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (span - 1, 0)
    out = -(-length // stride)
    total = max((out - 1) * stride + span - length, 0)
    return (total // 2, total - total // 2)


# -- float64 strategies and the gradient check of the op tests ------------------------------
@st.composite
def arrays(draw, shape, lo=-2.0, hi=2.0, avoid=(), gap=0.05):
    """Non-uniform float64 values in [lo, hi] kept ``gap`` away from the points in
    ``avoid`` (kinks, poles): drawn from a seeded generator, so every element differs."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(lo, hi, size=shape)
    for p in avoid:
        x = np.where(np.abs(x - p) < gap, p + np.where(x >= p, gap, -gap), x)
    return x


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Small array shapes (sides 1-4 by default)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcast_pairs(max_dims=3):
    """Two shapes that broadcast together: sides of 1 and missing leading axes included."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=max_dims, max_side=3) \
        .map(lambda s: s.input_shapes)


def gradcheck(fn, inputs):
    """``mg.gradcheck`` (raises on a mismatch), with one report per input."""
    import minigrad as mg
    report = mg.gradcheck(fn, inputs)
    assert len(report) == len(inputs)
    return report
