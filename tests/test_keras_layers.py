"""The layers graphs need (merge, reshaping, activation, normalization, preprocessing,
spatial dropout) against Keras 3 on the torch backend: same arguments and weights ->
same outputs and input gradients, same parameter counts and config values.
Skipped cleanly when ``keras`` or ``torch`` cannot be imported."""

import numpy as np
import pytest

from conftest import keras_or_skip

keras = keras_or_skip(module_level=True)
import torch  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import layers  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
RNG = np.random.default_rng(5)


def keras_value_and_grad(layer, inputs, weights_out, **call_kwargs):
    """Keras output and d(sum(output * weights_out)) / d(inputs)."""
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    y = layer(tensors if len(tensors) > 1 else tensors[0], **call_kwargs)
    (y * torch.tensor(weights_out)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def ours_value_and_grad(layer, inputs, weights_out, **call_kwargs):
    tensors = [mg.Tensor(x) for x in inputs]
    with mg.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        y = layer(tensors if len(tensors) > 1 else tensors[0], **call_kwargs)
        loss = (y * weights_out).sum()
    return y.numpy(), tape.gradient(loss, tensors)


CASES = [
    ("Add", {}, [(2, 3, 4), (2, 1, 4)]),
    ("Add", {}, [(2, 4), (2, 3, 4)]),                   # lower rank: axes after the batch
    ("Subtract", {}, [(2, 3, 4), (2, 3, 4)]),
    ("Multiply", {}, [(2, 3, 4), (2, 3, 1), (2, 3, 4)]),
    ("Average", {}, [(2, 5), (2, 5), (2, 5)]),
    ("Maximum", {}, [(2, 3, 4), (2, 3, 4)]),
    ("Minimum", {}, [(2, 3, 4), (2, 3, 4)]),
    ("Concatenate", {}, [(2, 3, 4), (2, 3, 2)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 1, 4)]),
    ("ZeroPadding1D", {"padding": (1, 3)}, [(2, 5, 3)]),
    ("ZeroPadding1D", {"padding": 2, "data_format": "channels_first"}, [(2, 3, 5)]),
    ("ZeroPadding2D", {"padding": ((0, 1), (2, 1))}, [(2, 4, 5, 3)]),
    ("ZeroPadding2D", {"padding": (1, 2), "data_format": "channels_first"}, [(2, 3, 4, 5)]),
    ("Cropping1D", {"cropping": (2, 1)}, [(2, 6, 3)]),
    ("Cropping2D", {"cropping": ((1, 0), (1, 2))}, [(2, 5, 6, 3)]),
    ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, [(2, 3, 5, 6)]),
    ("UpSampling1D", {"size": 3}, [(2, 4, 3)]),
    ("UpSampling2D", {"size": (2, 3)}, [(2, 3, 4, 2)]),
    ("UpSampling2D", {"size": 2, "data_format": "channels_first"}, [(2, 2, 3, 4)]),
    ("ReLU", {}, [(3, 7)]),
    ("ReLU", {"max_value": 6.0}, [(3, 7)]),
    ("ReLU", {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5}, [(3, 7)]),
    ("ReLU", {"negative_slope": 0.1}, [(3, 7)]),
    ("LeakyReLU", {}, [(3, 7)]),
    ("LeakyReLU", {"negative_slope": 0.05}, [(3, 7)]),
    ("Softmax", {}, [(2, 3, 4)]),
    ("Softmax", {"axis": 1}, [(2, 3, 4)]),
    ("Softmax", {"axis": (1, 2)}, [(2, 3, 4)]),
    ("Identity", {}, [(2, 3)]),
    ("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, [(2, 3, 3)]),
    ("LayerNormalization", {}, [(2, 3, 6)]),
    ("LayerNormalization", {"axis": [2, 3], "epsilon": 1e-5}, [(2, 3, 4, 2)]),
    # (Keras 3.15 on torch fails on contiguous axes that do not end the shape, e.g.
    # axis=1 of a rank-3 input, so the non-trailing case drawn here is a split one.)
    ("LayerNormalization", {"axis": [1, 3], "center": False}, [(2, 3, 4, 2)]),
    ("SpatialDropout1D", {"rate": 0.5}, [(2, 3, 4)]),
    ("SpatialDropout2D", {"rate": 0.5}, [(2, 3, 4, 2)]),
]


@pytest.mark.parametrize("kind, args, shapes", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_same_outputs_and_input_gradients(kind, args, shapes):
    inputs = [RNG.uniform(-4, 8, size=s).astype("float32") for s in shapes]
    theirs = getattr(keras.layers, kind)(**args)
    ours = getattr(layers, kind)(**args)
    if ours.built is False and kind == "LayerNormalization":
        theirs.build(shapes[0])
        ours.build(shapes[0])
        weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        assert ours.count_params() == theirs.count_params()
    out_shape = ours.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
    weights_out = RNG.normal(size=out_shape).astype("float32")
    y_k, g_k = keras_value_and_grad(theirs, inputs, weights_out)
    y_m, g_m = ours_value_and_grad(ours, inputs, weights_out)
    assert y_m.shape == y_k.shape == out_shape
    np.testing.assert_allclose(y_m, y_k, rtol=1e-5, atol=1e-5)
    for a, b in zip(g_m, g_k):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    config_k, config_m = theirs.get_config(), ours.get_config()
    for key, value in config_k.items():
        if key in ("name", "dtype", "trainable"):
            continue
        if key in ("padding", "cropping", "size"):
            assert np.array_equal(np.asarray(config_m[key]), np.asarray(value)), key
        elif key.endswith(("initializer", "regularizer", "constraint")):
            assert (value is None) == (config_m[key] is None), key
        else:
            assert config_m[key] == (list(value) if isinstance(value, tuple) and
                                     isinstance(config_m[key], list) else value), key


def test_softmax_mask_matches_keras():
    x = RNG.normal(size=(2, 5)).astype("float32")
    mask = RNG.random((2, 5)) > 0.4
    theirs = keras.layers.Softmax()(torch.tensor(x), mask=torch.tensor(mask))
    ours = layers.Softmax()(x, mask=mask)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["SpatialDropout1D", "SpatialDropout2D"])
def test_spatial_dropout_training_drops_the_same_kind_of_blocks(kind):
    shape = (16, 5, 6) if kind.endswith("1D") else (16, 3, 4, 6)
    x = np.ones(shape, np.float32)
    y_k = keras.layers.__dict__[kind](0.5, seed=1)(torch.tensor(x), training=True).numpy()
    y_m = getattr(layers, kind)(0.5, seed=1)(x, training=True).numpy()
    spatial = tuple(range(1, len(shape) - 1))
    for y in (y_k, y_m):              # the masks are random; their structure must agree
        assert set(np.unique(y)) <= {0.0, 2.0}
        assert (y.min(axis=spatial) == y.max(axis=spatial)).all()
