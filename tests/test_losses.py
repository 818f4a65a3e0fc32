"""Losses: known values vs NumPy formulas, reduction and sample weights, gradients w.r.t.
y_pred, stability with extreme inputs, lookup by name and errors."""
import numpy as np
import pytest
from scipy import special

import minigrad as mg
from minigrad import losses

RNG = np.random.default_rng(0)
EPS = 1e-7

Y_PRED = RNG.uniform(0.05, 0.95, size=(5, 4))
Y_TRUE_BIN = (RNG.random((5, 4)) > 0.5).astype(float)
Y_TRUE_ONEHOT = np.eye(4)[[0, 3, 1, 1, 2]]
LOGITS = RNG.normal(scale=2.0, size=(5, 4))
LABELS = np.array([0, 3, 1, 1, 2])


def np_bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def np_cce(t, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(p)).sum(-1)


def np_log_softmax(x):
    return x - special.logsumexp(x, axis=-1, keepdims=True)


def np_huber(t, p, d):
    e = np.abs(p - t)
    return np.where(e <= d, 0.5 * e ** 2, d * e - 0.5 * d ** 2).mean(-1)


CASES = [  # (loss object, y_true, y_pred, per-sample reference)
    (losses.MeanSquaredError(), Y_TRUE_BIN, LOGITS, ((LOGITS - Y_TRUE_BIN) ** 2).mean(-1)),
    (losses.MeanAbsoluteError(), Y_TRUE_BIN, LOGITS, np.abs(LOGITS - Y_TRUE_BIN).mean(-1)),
    (losses.Huber(), Y_TRUE_BIN, LOGITS, np_huber(Y_TRUE_BIN, LOGITS, 1.0)),
    (losses.Huber(delta=0.3), Y_TRUE_BIN, LOGITS, np_huber(Y_TRUE_BIN, LOGITS, 0.3)),
    (losses.BinaryCrossentropy(), Y_TRUE_BIN, Y_PRED, np_bce(Y_TRUE_BIN, Y_PRED)),
    (losses.BinaryCrossentropy(label_smoothing=0.2), Y_TRUE_BIN, Y_PRED,
     np_bce(Y_TRUE_BIN * 0.8 + 0.1, Y_PRED)),
    (losses.BinaryCrossentropy(from_logits=True), Y_TRUE_BIN, LOGITS,
     np_bce(Y_TRUE_BIN, special.expit(LOGITS))),
    (losses.CategoricalCrossentropy(), Y_TRUE_ONEHOT, Y_PRED, np_cce(Y_TRUE_ONEHOT, Y_PRED)),
    (losses.CategoricalCrossentropy(label_smoothing=0.1), Y_TRUE_ONEHOT, Y_PRED,
     np_cce(Y_TRUE_ONEHOT * 0.9 + 0.1 / 4, Y_PRED)),
    (losses.CategoricalCrossentropy(from_logits=True), Y_TRUE_ONEHOT, LOGITS,
     -(Y_TRUE_ONEHOT * np_log_softmax(LOGITS)).sum(-1)),
    (losses.SparseCategoricalCrossentropy(), LABELS, Y_PRED, np_cce(Y_TRUE_ONEHOT, Y_PRED)),
    (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS,
     -np_log_softmax(LOGITS)[np.arange(5), LABELS]),
]
IDS = [f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("loss,y_true,y_pred,expected", CASES, ids=IDS)
def test_known_values_and_reductions(loss, y_true, y_pred, expected):
    value = loss(y_true, y_pred)
    assert value.shape == () and value.dtype == np.float64
    np.testing.assert_allclose(float(value.data), expected.mean(), rtol=1e-10)
    weights = np.array([1.0, 0.5, 2.0, 0.0, 3.0])
    # "sum_over_batch_size": weighted sum divided by the number of samples.
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=weights).data),
                               (expected * weights).sum() / 5, rtol=1e-10)
    np.testing.assert_allclose(
        float(loss(y_true, y_pred, sample_weight=weights[:, None]).data),
        (expected * weights).sum() / 5, rtol=1e-10)
    config = loss.get_config()
    np.testing.assert_allclose(type(loss)(**{**config, "reduction": "none"})(
        y_true, y_pred).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(float(type(loss)(**{**config, "reduction": "sum"})(
        y_true, y_pred).data), expected.sum(), rtol=1e-10)


@pytest.mark.parametrize("loss,y_true,y_pred,expected", CASES, ids=IDS)
def test_gradcheck_wrt_y_pred(loss, y_true, y_pred, expected):
    weights = np.array([1.0, 0.5, 2.0, 0.0, 3.0])
    mg.gradcheck(lambda p: loss(y_true, p, sample_weight=weights), [y_pred])


@pytest.mark.parametrize("loss,y_true,y_pred,expected", CASES, ids=IDS)
def test_float32_stays_float32(loss, y_true, y_pred, expected):
    value = loss(y_true, y_pred.astype("float32"))
    assert value.dtype == np.float32
    np.testing.assert_allclose(float(value.data), expected.mean(), rtol=1e-4)


def test_function_forms_return_per_sample_values():
    np.testing.assert_allclose(losses.mse(Y_TRUE_BIN, LOGITS).numpy(),
                               ((LOGITS - Y_TRUE_BIN) ** 2).mean(-1))
    assert losses.mean_absolute_error(Y_TRUE_BIN, LOGITS).shape == (5,)
    assert losses.huber(Y_TRUE_BIN, LOGITS, delta=2.0).shape == (5,)
    assert losses.binary_crossentropy(Y_TRUE_BIN, Y_PRED).shape == (5,)
    assert losses.categorical_crossentropy(Y_TRUE_ONEHOT, Y_PRED).shape == (5,)
    assert losses.sparse_categorical_crossentropy(LABELS, LOGITS, from_logits=True).shape \
        == (5,)


def test_trailing_unit_axis_is_matched():
    y = RNG.normal(size=(6, 1))
    t = RNG.normal(size=6)
    np.testing.assert_allclose(float(losses.MeanSquaredError()(t, y).data),
                               ((y[:, 0] - t) ** 2).mean())
    np.testing.assert_allclose(float(losses.MeanSquaredError()(t[:, None], y[:, 0]).data),
                               ((y[:, 0] - t) ** 2).mean())
    np.testing.assert_allclose(
        float(losses.SparseCategoricalCrossentropy()(LABELS[:, None], Y_PRED).data),
        np_cce(Y_TRUE_ONEHOT, Y_PRED).mean())


def test_categorical_on_other_axis_and_sequence_labels():
    x = RNG.normal(size=(2, 4, 3))                  # classes on axis 1
    t = np.eye(4)[RNG.integers(0, 4, size=(2, 3))].transpose(0, 2, 1)
    value = losses.CategoricalCrossentropy(from_logits=True, axis=1)(t, x)
    ref = -(t * (x - special.logsumexp(x, axis=1, keepdims=True))).sum(1).mean()
    np.testing.assert_allclose(float(value.data), ref)
    labels = RNG.integers(0, 3, size=(2, 4))        # (N, T) labels, (N, T, K) logits
    value = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, x)
    ref = -np.take_along_axis(np_log_softmax(x), labels[..., None], -1).mean()
    np.testing.assert_allclose(float(value.data), ref)


# ----------------------------------------------------------------------------------------
# Stability
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_stay_finite(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e30, 1e30, 5.0], [88.0, -88.0, 1000.0]], dtype)
    labels = np.array([1, 0, 2])
    onehot = np.eye(3, dtype=dtype)[labels]
    binary = (RNG.random((3, 3)) > 0.5).astype(dtype)
    for loss, y_true in [(losses.SparseCategoricalCrossentropy(from_logits=True), labels),
                         (losses.CategoricalCrossentropy(from_logits=True), onehot),
                         (losses.BinaryCrossentropy(from_logits=True), binary)]:
        p = mg.Tensor(logits)
        with mg.GradientTape() as tape:
            tape.watch(p)
            value = loss(y_true, p)
        grad = tape.gradient(value, p)
        assert np.isfinite(value.numpy()) and np.isfinite(grad).all(), type(loss).__name__
    # The wrong class with margin 2e4 costs 2e4 (log-softmax, no overflow).
    value = losses.SparseCategoricalCrossentropy(from_logits=True)([1], np.array([[1e4, -1e4]]))
    np.testing.assert_allclose(float(value.data), 2e4)
    value = losses.BinaryCrossentropy(from_logits=True)([[1.0]], np.array([[-1e4]]))
    np.testing.assert_allclose(float(value.data), 1e4)


def test_probability_losses_clip_zero_and_one():
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    bce = losses.BinaryCrossentropy()(t, p)
    assert np.isfinite(bce.numpy())
    np.testing.assert_allclose(float(bce.data), 0.5 * -np.log(EPS), rtol=1e-6)
    cce = losses.CategoricalCrossentropy()(t, p)
    np.testing.assert_allclose(float(cce.data), 0.5 * -np.log(EPS), rtol=1e-6)
    scce = losses.SparseCategoricalCrossentropy()([0, 0], p)
    np.testing.assert_allclose(float(scce.data), float(cce.data))


# ----------------------------------------------------------------------------------------
# Lookup
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("MeanSquaredError", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
    ("mean_absolute_error", losses.MeanAbsoluteError), ("huber", losses.Huber),
    ("Huber", losses.Huber), ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy),
])
def test_get_by_name(name, cls):
    loss = losses.get(name)
    assert type(loss) is cls
    y_true = LABELS if cls is losses.SparseCategoricalCrossentropy else Y_TRUE_ONEHOT
    assert loss(y_true, Y_PRED).shape == ()


def test_get_other_identifiers():
    loss = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    assert type(losses.get(losses.Huber)) is losses.Huber
    wrapped = losses.get(losses.mean_squared_error)
    assert isinstance(wrapped, losses.Loss) and wrapped.name == "mean_squared_error"
    np.testing.assert_allclose(float(wrapped(Y_TRUE_BIN, LOGITS).data),
                               float(losses.mse(Y_TRUE_BIN, LOGITS).mean().data))
    custom = losses.get(lambda t, p: ((p - t) ** 4).mean(axis=-1))
    assert custom(Y_TRUE_BIN, LOGITS).shape == ()
    config = losses.serialize(loss)
    assert config["class_name"] == "CategoricalCrossentropy"
    clone = losses.deserialize(config)
    assert clone.from_logits and clone.name == "categorical_crossentropy"
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.Huber().name == "huber_loss"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="Could not interpret loss identifier: msqe.*"
                                         "mean_squared_error.*sparse_categorical"):
        losses.get("msqe")
    with pytest.raises(ValueError, match="Could not interpret loss"):
        losses.get(3)


# ----------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.MeanAbsoluteError(),
                                  losses.Huber(), losses.BinaryCrossentropy(),
                                  losses.CategoricalCrossentropy()])
def test_shape_mismatch_names_both_shapes(loss):
    with pytest.raises(ValueError, match=r"y_true shape \(5, 3\) and y_pred shape \(5, 4\)"):
        loss(np.zeros((5, 3)), Y_PRED)
    with pytest.raises(ValueError, match=r"y_true shape \(4, 4\)"):
        loss(np.zeros((4, 4)), Y_PRED)


@pytest.mark.parametrize("labels,match", [
    ([0, 1, 4, 1, 2], r"labels must be in \[0, 4\).*got label 4"),
    ([0, -1, 2, 1, 2], r"labels must be in \[0, 4\).*got label -1"),
    ([0.5, 1, 2, 1, 2], "integer class labels"),
    ([0, 1, 2], r"shape \(5,\).*got y_true shape \(3,\)"),
    (np.eye(4)[[0, 1, 2, 3, 0]], r"got y_true shape \(5, 4\)"),
])
def test_sparse_label_errors(labels, match):
    with pytest.raises(ValueError, match=match):
        losses.SparseCategoricalCrossentropy()(np.array(labels), Y_PRED)


@pytest.mark.parametrize("make,match", [
    (lambda: losses.Huber(delta=0), "delta"), (lambda: losses.Huber(delta=-1), "delta"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "label_smoothing"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=-0.1), "label_smoothing"),
    (lambda: losses.BinaryCrossentropy(from_logits="yes"), "from_logits"),
    (lambda: losses.SparseCategoricalCrossentropy(from_logits=1), "from_logits"),
    (lambda: losses.MeanSquaredError(reduction="avg"), "reduction"),
])
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_other_errors():
    with pytest.raises(ValueError, match="sample_weight of shape"):
        losses.MeanSquaredError()(Y_TRUE_BIN, LOGITS, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        losses.CategoricalCrossentropy(axis=2)(Y_TRUE_ONEHOT, Y_PRED)
    with pytest.raises(TypeError, match="y_true must be numeric"):
        losses.MeanSquaredError()(np.array([["a"] * 4] * 5), Y_PRED)


def test_sparse_ignore_class():
    labels = np.array([0, -1, 3, -1, 2])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    per_sample = -np_log_softmax(LOGITS)[[0, 2, 4], [0, 3, 2]]
    np.testing.assert_allclose(float(loss(labels, LOGITS).data), per_sample.mean())
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    np.testing.assert_allclose(float(loss(labels, LOGITS, sample_weight=weights).data),
                               (per_sample * weights[[0, 2, 4]]).sum() / 3)
    mg.gradcheck(lambda p: loss(labels, p), [LOGITS])
    assert loss.get_config()["ignore_class"] == -1
    with pytest.raises(ValueError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class="none")


def test_keras_positional_order():
    assert losses.MeanSquaredError("sum").reduction == "sum"
    assert losses.Huber(2.0, "none", "h").name == "h"
    assert losses.BinaryCrossentropy(True, 0.1, -1, "sum").reduction == "sum"
    assert losses.SparseCategoricalCrossentropy(True, 255).ignore_class == 255
