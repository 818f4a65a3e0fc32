"""compile / fit / evaluate / predict: the step, the reported loss, data checks, seeds."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers, losses, optimizers, regularizers
from minigrad.models import Sequential


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    y = rng.integers(0, 3, size=n)
    return x, y


def small_model(**reg):
    return Sequential([
        layers.SeparableConv1D(4, 3, activation="relu", input_shape=(6, 2),
                               depthwise_regularizer=reg.get("depthwise"),
                               activity_regularizer=reg.get("activity")),
        layers.Flatten(),
        layers.Dense(3, kernel_regularizer=reg.get("kernel")),
    ])


def compile_sgd(model, lr=0.1, momentum=0.0, metrics=None):
    model.compile(optimizer=optimizers.SGD(learning_rate=lr, momentum=momentum),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True), metrics=metrics)
    return model


# -- the loss and the step ---------------------------------------------------------------
def test_fit_loss_is_compiled_loss_plus_penalties():
    x, y = data()
    model = compile_sgd(small_model(depthwise=regularizers.L2(0.05), activity="l2",
                                    kernel=regularizers.L1(0.01)), lr=0.0)
    history = model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    y_pred = model(x, training=True)
    penalties = model.losses
    assert len(penalties) == 3
    compiled = losses.SparseCategoricalCrossentropy(from_logits=True)(y, y_pred)
    expected = float(compiled.numpy()) + sum(float(p.numpy()) for p in penalties)
    assert sum(float(p.numpy()) for p in penalties) > 0.01
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0, batch_size=len(x)), expected,
                               rtol=1e-6)


def test_fit_step_equals_manual_tape_step():
    x, y = data(30)
    reg = dict(depthwise=regularizers.L2(0.01), kernel=regularizers.L2(0.01))
    model_a = compile_sgd(small_model(**reg), lr=0.05, momentum=0.9)
    model_b = small_model(**reg)
    model_b.set_weights(model_a.get_weights())
    model_a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

    opt = optimizers.SGD(learning_rate=0.05, momentum=0.9)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    for _ in range(2):
        for start in range(0, len(x), 8):
            xb, yb = x[start:start + 8], y[start:start + 8]
            with mg.GradientTape() as tape:
                loss = loss_fn(yb, model_b(xb, training=True)) + sum(model_b.losses)
            grads = tape.gradient(loss, model_b.trainable_weights)
            opt.apply_gradients(zip(grads, model_b.trainable_weights))
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    assert not np.allclose(model_a.get_weights()[0], small_model().get_weights()[0])


def test_train_on_batch_equals_one_fit_step_and_test_on_batch():
    x, y = data(10)
    a = compile_sgd(small_model(), metrics=["accuracy"])
    b = compile_sgd(small_model(), metrics=["accuracy"])
    b.set_weights(a.get_weights())
    before = a.test_on_batch(x, y)
    loss, acc = a.train_on_batch(x, y)
    np.testing.assert_allclose(loss, before[0], rtol=1e-6)
    assert 0.0 <= acc <= 1.0
    b.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert set(a.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}


def test_frozen_layer_does_not_change_or_add_penalty():
    x, y = data()
    model = compile_sgd(small_model(depthwise=regularizers.L2(1.0), kernel=regularizers.L2(0.1)))
    model.layers[0].trainable = False
    frozen_before = model.layers[0].get_weights()
    dense_before = model.layers[2].get_weights()
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), frozen_before):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.layers[2].get_weights()[0], dense_before[0])
    assert len(model.losses) == 1              # only the Dense kernel's penalty
    y_pred = model(x, training=True)
    expected = float(losses.SparseCategoricalCrossentropy(from_logits=True)(y, y_pred).numpy())
    expected += float(model.losses[0].numpy())
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=len(x), verbose=0), expected,
                               rtol=1e-6)
    assert np.isfinite(history.history["loss"]).all()


def test_same_seed_same_weights():
    x, y = data(40)

    def run(seed):
        mg.clear_session()
        mg.set_random_seed(seed)
        model = compile_sgd(Sequential([layers.SeparableConv1D(4, 3, input_shape=(6, 2)),
                                        layers.Dropout(0.3), layers.Flatten(), layers.Dense(3)]),
                            momentum=0.9)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
        return model.get_weights()

    first, second, other = run(5), run(5), run(6)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])


# -- fit options ----------------------------------------------------------------------
def test_history_keys_and_validation_split_takes_the_last_samples():
    x, y = data(40)
    model = compile_sgd(small_model(), lr=0.0, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=3, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    val_loss, val_acc = model.evaluate(x[30:], y[30:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], val_loss, rtol=1e-6)
    np.testing.assert_allclose(history.history["val_accuracy"][-1], val_acc)
    train_loss = model.evaluate(x[:30], y[:30], verbose=0)[0]
    np.testing.assert_allclose(history.history["loss"][-1], train_loss, rtol=1e-5)
    assert model.history is history


def test_validation_data_and_initial_epoch():
    x, y = data(20)
    model = compile_sgd(small_model())
    history = model.fit(x, y, epochs=3, initial_epoch=1, validation_data=(x[:5], y[:5]),
                        verbose=0)
    assert history.epoch == [1, 2] and set(history.history) == {"loss", "val_loss"}


def test_evaluate_and_predict_outputs():
    x, y = data(21)
    model = compile_sgd(small_model(), metrics=["accuracy"])
    loss, acc = model.evaluate(x, y, batch_size=4, verbose=0)
    logs = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], loss, rtol=1e-6)
    assert logs["accuracy"] == acc
    pred = model.predict(x, batch_size=4, verbose=0)
    assert pred.shape == (21, 3) and pred.dtype == np.float32
    np.testing.assert_allclose(pred, model(x).numpy(), rtol=1e-6, atol=1e-6)
    plain = compile_sgd(small_model())
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_string_identifiers_and_verbose_modes(capsys):
    x, y = data(16)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    assert isinstance(model.optimizer, optimizers.SGD)
    model.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "accuracy" in out
    model.fit(x, y, epochs=1, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    model.fit(x, y, epochs=1, verbose=1)          # tqdm bar on stderr
    assert "Epoch 1/1" in capsys.readouterr().err


# -- errors ---------------------------------------------------------------------------
def test_not_compiled():
    x, y = data()
    with pytest.raises(RuntimeError, match=r"compile\(\)"):
        small_model().fit(x, y, verbose=0)
    with pytest.raises(RuntimeError, match=r"compile\(\)"):
        small_model().evaluate(x, y, verbose=0)


def test_length_mismatch_names_both_lengths():
    x, y = data(24)
    model = compile_sgd(small_model())
    with pytest.raises(ValueError, match=r"x has 24.*y has 20"):
        model.fit(x, y[:20], verbose=0)
    with pytest.raises(ValueError, match=r"x_val has 5.*y_val has 4"):
        model.fit(x, y, validation_data=(x[:5], y[:4]), verbose=0)


def test_wrong_input_shape_raises_before_training():
    x, y = data()
    model = compile_sgd(small_model())
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"expects `x` of shape \(None, 6, 2\)"):
        model.fit(np.zeros((24, 6, 3), "float32"), y, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model.predict(np.zeros((4, 6)), verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    # A model without a declared input shape: the layer's own check speaks.
    lazy = compile_sgd(Sequential([layers.SeparableConv1D(2, 3), layers.Flatten(),
                                   layers.Dense(3)]))
    lazy.fit(x, y, verbose=0)
    with pytest.raises(ValueError):
        lazy.fit(np.zeros((24, 6, 5), "float32"), y, verbose=0)


def test_empty_and_bad_arguments():
    x, y = data()
    model = compile_sgd(small_model())
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=-0.1, verbose=0)
    with pytest.raises(ValueError, match="not enough"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="required"):
        model.fit(x, None, verbose=0)
    with pytest.raises(TypeError, match="numbers"):
        model.fit(np.array([["a"]] * 24), y, verbose=0)
    with pytest.raises(ValueError, match="loss"):
        small_model().compile(optimizer="sgd")
    with pytest.raises(ValueError, match="Could not interpret"):
        small_model().compile(optimizer="adamww", loss="mse")


def test_bad_validation_data():
    x, y = data()
    model = compile_sgd(small_model())
    with pytest.raises(ValueError, match=r"tuple \(x_val, y_val\).*tuple of length 4"):
        model.fit(x, y, validation_data=(x, y, y, y), verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=x, verbose=0)
