"""Metrics: known values, accumulation over batches, sample weights, reset, lookup
(including "accuracy" resolved from the loss) and errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import losses, metrics

RNG = np.random.default_rng(0)


def test_accuracy_exact_match():
    m = metrics.Accuracy()
    m.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    assert m.result() == 0.75 and m.name == "accuracy"
    m.update_state([[1], [2]], [[0], [0]])
    assert m.result() == pytest.approx(3 / 6)
    m.reset_state()
    assert m.result() == 0.0


def test_binary_accuracy_threshold():
    y_true = np.array([[1], [1], [0], [0]])
    y_pred = np.array([[0.98], [0.4], [0.1], [0.6]])
    m = metrics.BinaryAccuracy()
    m.update_state(y_true, y_pred)
    assert m.result() == 0.5 and m.name == "binary_accuracy"
    m = metrics.BinaryAccuracy(threshold=0.3)
    m.update_state(y_true, y_pred)                         # predicts [1, 1, 0, 1]
    assert m.result() == 0.75
    m = metrics.BinaryAccuracy(threshold=0.7)
    m.update_state(y_true[:, 0], y_pred)                   # (N,) labels for (N, 1) preds
    assert m.result() == 0.75
    assert m.get_config()["threshold"] == 0.7


def test_categorical_and_sparse_categorical_accuracy():
    y_pred = np.array([[0.1, 0.9, 0.0], [0.05, 0.15, 0.8], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    labels = np.array([1, 2, 1, 2])
    cat = metrics.CategoricalAccuracy()
    cat.update_state(np.eye(3)[labels], y_pred)
    assert cat.result() == 0.75 and cat.name == "categorical_accuracy"
    sparse = metrics.SparseCategoricalAccuracy()
    sparse.update_state(labels, y_pred)
    assert sparse.result() == 0.75 and sparse.name == "sparse_categorical_accuracy"
    sparse.update_state(labels[:, None].astype(float), mg.Tensor(y_pred[:, ::-1].copy()))
    assert sparse.result() == pytest.approx((3 + 1) / 8)


def test_regression_metrics_and_accumulation_over_batches():
    batches = [(RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))) for _ in range(3)]
    mse, mae = metrics.MeanSquaredError(), metrics.MeanAbsoluteError()
    for t, p in batches:
        mse.update_state(t, p)
        mae.update_state(t, p)
    t = np.concatenate([b[0] for b in batches])
    p = np.concatenate([b[1] for b in batches])
    assert mse.result() == pytest.approx(((p - t) ** 2).mean())
    assert mae.result() == pytest.approx(np.abs(p - t).mean())
    assert (mse.name, mae.name) == ("mean_squared_error", "mean_absolute_error")


def test_mean_and_sample_weights():
    m = metrics.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state(mg.Tensor(np.array([4.0])))
    assert m.result() == 2.5 and m.name == "mean"
    m.update_state([10.0, 20.0], sample_weight=[0.0, 1.0])
    assert m.result() == pytest.approx((10 + 20) / 5)
    acc = metrics.SparseCategoricalAccuracy()
    acc.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]], sample_weight=[1.0, 3.0])
    assert acc.result() == 0.25


def test_call_updates_and_returns_result():
    m = metrics.Accuracy()
    assert m([1, 2], [1, 0]) == 0.5
    assert m([1, 2], [1, 2]) == 0.75


def test_tensors_on_a_tape_are_not_recorded():
    p = mg.Tensor(RNG.normal(size=(4, 3)))
    with mg.GradientTape() as tape:
        tape.watch(p)
        metrics.MeanSquaredError().update_state(np.zeros((4, 3)), p)
    assert len(list(tape)) == 0


@pytest.mark.parametrize("loss,expected", [
    (losses.SparseCategoricalCrossentropy(from_logits=True), metrics.SparseCategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy, metrics.SparseCategoricalAccuracy),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.sparse_categorical_crossentropy, metrics.SparseCategoricalAccuracy),
    (losses.get(losses.sparse_categorical_crossentropy), metrics.SparseCategoricalAccuracy),
    (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy),
    ("binary_crossentropy", metrics.BinaryAccuracy),
    (losses.MeanSquaredError(), metrics.Accuracy),
    ("mse", metrics.Accuracy), (None, metrics.Accuracy), ("not_a_loss", metrics.Accuracy),
])
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_accuracy_follows_the_loss(loss, expected, name):
    m = metrics.get(name, loss=loss)
    assert type(m) is expected and m.name == name


@pytest.mark.parametrize("name,cls", [
    ("binary_accuracy", metrics.BinaryAccuracy),
    ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("SparseCategoricalAccuracy", metrics.SparseCategoricalAccuracy),
    ("mse", metrics.MeanSquaredError), ("mean_squared_error", metrics.MeanSquaredError),
    ("mae", metrics.MeanAbsoluteError), ("MeanAbsoluteError", metrics.MeanAbsoluteError),
    ("mean", metrics.Mean), ("Accuracy", metrics.Accuracy),
])
def test_get_by_name(name, cls):
    m = metrics.get(name)
    assert type(m) is cls
    assert metrics.get(name) is not m                       # a fresh object each time


def test_get_other_identifiers():
    m = metrics.BinaryAccuracy(threshold=0.2)
    assert metrics.get(m) is m and metrics.get(None) is None
    assert type(metrics.get(metrics.CategoricalAccuracy)) is metrics.CategoricalAccuracy
    wrapped = metrics.get(lambda t, p: np.abs(np.asarray(p) - np.asarray(t)).max(-1))
    wrapped.update_state([[0.0, 0.0]], [[1.0, -3.0]])
    assert wrapped.result() == 3.0
    bce = metrics.get("binary_crossentropy")
    t, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]])
    bce.update_state(t, p)
    assert bce.name == "binary_crossentropy"
    assert bce.result() == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    clone = metrics.deserialize(metrics.serialize(m))
    assert clone.threshold == 0.2 and clone.name == "binary_accuracy"


def test_errors():
    with pytest.raises(ValueError, match="Could not interpret metric identifier: accurcy.*"
                                         "sparse_categorical_accuracy"):
        metrics.get("accurcy")
    with pytest.raises(ValueError, match="Could not interpret metric"):
        metrics.get(3.5)
    with pytest.raises(ValueError, match=r"y_true shape \(4, 2\) and y_pred shape \(4, 3\)"):
        metrics.CategoricalAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"y_true shape \(3,\) and y_pred shape \(4,\)"):
        metrics.Accuracy().update_state([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"got y_true shape \(4, 3\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="sample_weight of shape"):
        metrics.Accuracy().update_state([1, 2], [1, 2], sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold="high")
