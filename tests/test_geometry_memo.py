"""The memos of checked convolution arguments (ConvGeometry.of in minigrad/ops/geometry.py,
depthwise_geometry in minigrad/_kernels/guards.py, check_call_shape in layers/conv.py): once
a valid call is remembered, arguments equal to it as dict keys but invalid (True, 1.0) or
not hashable still meet the full check, and a change of the configured layout is seen."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, ops
from minigrad._kernels import guards

X = np.ones((1, 6, 6, 3), np.float32)
K = np.ones((3, 3, 3, 1), np.float32)


@pytest.mark.parametrize("bad", [
    {"strides": True}, {"strides": 1.0}, {"strides": (1, True)}, {"dilation_rate": (True, 1)},
    {"padding": [(1, 1), (1, 1)], "data_format": ["channels_last"]},
    {"data_format": ["channels_last"]},
])
def test_a_remembered_geometry_does_not_admit_equal_but_invalid_arguments(bad):
    ops.depthwise_conv(X, K, strides=1, padding="valid", data_format="channels_last")
    ops.depthwise_conv(X, K, strides=(1, 1), padding="valid", data_format="channels_last",
                       dilation_rate=(1, 1))
    args = {"strides": 1, "padding": "valid", "data_format": "channels_last", **bad}
    with pytest.raises((TypeError, ValueError)) as error:
        ops.depthwise_conv(X, K, **args)
    assert error.type is ValueError or "unhashable" not in str(error.value)


def test_a_remembered_geometry_follows_the_configured_layout():
    assert ops.depthwise_conv(X, K).shape == (1, 4, 4, 3)
    old = mg.config.image_data_format()
    mg.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="channels"):
            ops.depthwise_conv(X, K)            # (1, 6, 6, 3) read as 6 channels
    finally:
        mg.config.set_image_data_format(old)


def test_the_kernel_guards_memo_still_rejects_bools_and_negative_pads():
    pads = ((1, 1), (1, 1))
    assert guards.depthwise_geometry(X.shape, K.shape, (1, 1), (1, 1), pads, "x")[4] == (6, 6)
    with pytest.raises(TypeError):
        guards.depthwise_geometry(X.shape, K.shape, (True, 1), (1, 1), pads, "x")
    with pytest.raises(TypeError):
        guards.depthwise_geometry(X.shape, K.shape, (1, 1), (1, 1), ((True, 1), (1, 1)), "x")
    with pytest.raises(ValueError):
        guards.depthwise_geometry(X.shape, K.shape, (1, 1), (1, 1), ((-1, 1), (1, 1)), "x")


def test_a_conv_layer_checks_again_when_its_geometry_changes():
    layer = layers.DepthwiseConv2D(3)
    assert layer(X).shape == (1, 4, 4, 3)
    layer.dilation_rate = (3, 3)                   # the dilated kernel spans 7 > 6 positions
    with pytest.raises(ValueError, match=layer.name):
        layer(X)
    conv = layers.Conv2D(2, 3)
    conv(X)
    with pytest.raises(ValueError, match=conv.name):
        conv(np.ones((1, 2, 6, 3), np.float32))    # a new, too short input
