"""BatchNormalization: batch vs moving statistics, the moving-average update, gradients,
weights and parameter counts, configuration and errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(0)


def ref_bn(x, mean, var, gamma, beta, eps, axis):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)                                  # noqa: E731
    return r(gamma) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(beta)


def test_weights_order_and_param_counts():
    layer = layers.BatchNormalization()
    layer.build((None, 8, 8, 16))
    assert [w.path.split("/")[-1] for w in layer.weights] == \
        ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.count_params() == 64                                   # 4*C, as Keras
    assert sum(w.size for w in layer.trainable_weights) == 32           # 2*C trainable
    assert [w.path.split("/")[-1] for w in layer.non_trainable_weights] == \
        ["moving_mean", "moving_variance"]
    gamma, beta, mean, var = layer.get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()


def test_center_scale_off():
    layer = layers.BatchNormalization(center=False, scale=False)
    layer.build((None, 5))
    assert layer.count_params() == 10 and layer.trainable_weights == []
    layer = layers.BatchNormalization(center=False)
    layer.build((None, 5))
    assert [w.path.split("/")[-1] for w in layer.weights] == \
        ["gamma", "moving_mean", "moving_variance"]


@pytest.mark.parametrize("axis,shape", [(-1, (6, 4, 3)), (1, (6, 3, 4)), (0, (3, 5))])
def test_training_uses_batch_stats_and_updates_moving_stats(axis, shape):
    x = RNG.normal(2.0, 3.0, size=shape)
    layer = layers.BatchNormalization(axis=axis, momentum=0.9, dtype="float64",
                                      gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    layer.build(shape)
    gamma, beta, _, _ = layer.get_weights()
    reduce_axes = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    mean, var = x.mean(axis=reduce_axes), x.var(axis=reduce_axes)       # biased variance
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, ref_bn(x, mean, var, gamma, beta, 1e-3, axis), rtol=1e-10)
    moving_mean, moving_var = layer.get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0 * 0.9 + mean * 0.1)
    np.testing.assert_allclose(moving_var, 1 * 0.9 + var * 0.1)
    # A second step: moving = moving * momentum + batch * (1 - momentum).
    layer(x, training=True)
    np.testing.assert_allclose(layer.get_weights()[2], moving_mean * 0.9 + mean * 0.1)
    np.testing.assert_allclose(layer.get_weights()[3], moving_var * 0.9 + var * 0.1)


@pytest.mark.parametrize("training", [False, None])
def test_inference_uses_moving_stats_and_leaves_them(training):
    x = RNG.normal(size=(5, 3))
    layer = layers.BatchNormalization(dtype="float64", epsilon=0.01)
    layer.build((None, 3))
    weights = [RNG.uniform(0.5, 2, 3) for _ in range(4)]
    layer.set_weights(weights)
    y = layer(x, training=training).numpy()
    np.testing.assert_allclose(y, ref_bn(x, weights[2], weights[3], weights[0], weights[1],
                                         0.01, -1))
    for before, after in zip(weights, layer.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_frozen_layer_runs_in_inference_mode():
    x = RNG.normal(size=(5, 3))
    layer = layers.BatchNormalization(dtype="float64", trainable=False)
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3))
    np.testing.assert_array_equal(layer.get_weights()[2], 0)


def test_moving_stats_converge_to_data_stats():
    layer = layers.BatchNormalization(momentum=0.5, dtype="float64")
    for _ in range(40):
        layer(RNG.normal(3.0, 2.0, size=(256, 2)), training=True)
    mean, var = layer.get_weights()[2:]
    np.testing.assert_allclose(mean, 3.0, atol=0.3)
    np.testing.assert_allclose(var, 4.0, atol=0.8)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False)])
def test_gradcheck(training, center, scale):
    x = RNG.normal(size=(4, 3, 2))
    layer = layers.BatchNormalization(axis=1, center=center, scale=scale, dtype="float64",
                                      gamma_initializer="random_uniform",
                                      beta_initializer="random_normal")
    layer.build(x.shape)
    layer.moving_mean.assign(RNG.normal(size=3))
    layer.moving_variance.assign(RNG.uniform(0.5, 2, size=3))
    moving = [w.numpy() for w in (layer.moving_mean, layer.moving_variance)]

    def fn(t, *weights):
        layer.moving_mean.assign(moving[0])        # keep the statistics fixed per call
        layer.moving_variance.assign(moving[1])
        return layer(t, training=training)
    mg.gradcheck(fn, [x] + layer.trainable_weights)


def test_gradient_of_normalised_output_sum_is_zero():
    # sum(xhat) is constant in x under batch statistics, so its gradient vanishes.
    x = mg.Tensor(RNG.normal(size=(8, 4)))
    layer = layers.BatchNormalization(dtype="float64")
    with mg.GradientTape() as tape:
        tape.watch(x)
        total = layer(x, training=True).sum()
    grad_x, grad_gamma, grad_beta = tape.gradient(total, [x, layer.gamma, layer.beta])
    np.testing.assert_allclose(grad_x, 0, atol=1e-12)
    np.testing.assert_allclose(grad_gamma, 0, atol=1e-12)
    np.testing.assert_allclose(grad_beta, 8)


def test_float32_and_regularizers_and_config():
    layer = layers.BatchNormalization(gamma_regularizer="l2", beta_constraint="non_neg",
                                      momentum=0.8, axis=1)
    y = layer(RNG.normal(size=(4, 3, 2)).astype("float32"), training=True)
    assert y.dtype == np.float32 and layer.moving_mean.dtype == np.float32
    assert len(layer.losses) == 1
    config = layer.get_config()
    for key, value in {"axis": 1, "momentum": 0.8, "epsilon": 1e-3, "center": True,
                       "scale": True}.items():
        assert config[key] == value
    assert config["gamma_regularizer"]["class_name"] == "L2"
    assert config["moving_variance_initializer"]["class_name"] == "Ones"
    clone = layers.BatchNormalization.from_config(config)
    assert clone.axis == 1 and clone.momentum == 0.8


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"axis": 1.5}, TypeError, "axis"), ({"axis": [1, 2]}, TypeError, "axis"),
    ({"momentum": 1.5}, ValueError, "momentum"), ({"momentum": "high"}, TypeError, "momentum"),
    ({"epsilon": 0}, ValueError, "epsilon"), ({"epsilon": -1e-3}, ValueError, "epsilon"),
    ({"center": 1}, ValueError, "center"),
    ({"synchronized": "no"}, ValueError, "synchronized"), ({"scale": None}, ValueError, "scale"),
    ({"gamma_initializer": "nope"}, ValueError, "initializer"),
    ({"beta_regularizer": "nope"}, ValueError, "regularizer"),
])
def test_constructor_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        layers.BatchNormalization(**kwargs)


def test_call_errors():
    with pytest.raises(ValueError, match="axis=3 is out of range"):
        layers.BatchNormalization(axis=3)(np.zeros((2, 3)))
    layer = layers.BatchNormalization()
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 3"):
        layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="empty"):
        layers.BatchNormalization()(np.zeros((0, 3)), training=True)


@pytest.mark.parametrize("epsilon", [float("inf"), float("nan"), -float("inf")])
def test_epsilon_must_be_finite_positive(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        layers.BatchNormalization(epsilon=epsilon)


@pytest.mark.parametrize("shape, axis", [((2, 0), -1), ((2, 0, 3), 1)])
def test_zero_features_rejected_before_building(shape, axis):
    layer = layers.BatchNormalization(axis=axis)
    with pytest.raises(ValueError, match="positive size. Received size 0"):
        layer(np.zeros(shape))
    assert not layer.built and layer.weights == []
    assert layer(np.ones((2, 3, 3))).shape == (2, 3, 3)      # still usable


# -- the channels-last fast path (feature axis last, contiguous input) -------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from minigrad import ops  # noqa: E402


def _bn_case(data, dtype):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))) + \
        (data.draw(st.integers(1, 5)),)
    shape = (data.draw(st.integers(2, 5)),) + shape
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * rng.uniform(0.5, 3, size=shape[-1]) +
         rng.normal(size=shape[-1])).astype(dtype)
    c = shape[-1]
    gamma, beta = rng.uniform(0.5, 1.5, c).astype(dtype), rng.normal(size=c).astype(dtype)
    mean, var = rng.normal(size=c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    up = rng.normal(size=shape).astype(dtype)
    return x, gamma, beta, mean, var, up


def _bn_run(x, gamma, beta, mean, var, up, training, center, scale):
    ts = [mg.Tensor(x)] + [mg.Tensor(a) for a, on in ((gamma, scale), (beta, center)) if on]
    with mg.GradientTape() as tape:
        tape.watch(ts)
        y, m, v = ops.batch_norm(ts[0], mean, var, ts[1] if scale else None,
                                 ts[-1] if center else None, 1e-3, -1, training)
    return [y.numpy(), m, v] + [g.numpy() for g in tape.gradient(y, ts, output_gradients=up)]


@settings(max_examples=30, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([(True, True), (False, True), (True, False),
                                                  (False, False)]),
       st.sampled_from(["float32", "float64"]))
def test_fast_path_agrees_with_the_general_path(data, training, center_scale, dtype):
    # A contiguous input with the feature axis last takes the row-matrix path; the same
    # values in a Fortran-ordered array take the general one.
    x, gamma, beta, mean, var, up = _bn_case(data, dtype)
    fast = _bn_run(x, gamma, beta, mean, var, up, training, *center_scale)
    general = _bn_run(np.asfortranarray(x), gamma, beta, mean, var, up, training,
                      *center_scale)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for a, b in zip(fast, general):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    np.testing.assert_allclose(fast[0], ref_bn(x.astype(np.float64), fast[1], fast[2],
                                               gamma if center_scale[1] else 1,
                                               beta if center_scale[0] else 0, 1e-3, -1),
                               rtol=tol, atol=tol)


@settings(max_examples=15, deadline=None)
@given(st.data(), st.booleans(), st.sampled_from([(True, True), (False, True), (True, False)]))
def test_fast_path_gradcheck(data, training, center_scale):
    x, gamma, beta, mean, var, _ = _bn_case(data, "float64")
    center, scale = center_scale
    weights = [w for w, on in ((gamma, scale), (beta, center)) if on]

    def fn(t, *w):
        g = w[0] if scale else None
        b = w[-1] if center else None
        return ops.batch_norm(t, mean, var, g, b, 1e-3, -1, training)[0] * \
            mg.Tensor(np.linspace(0.5, 2, t.shape[-1]))          # non-uniform upstream
    mg.gradcheck(fn, [x] + weights)
