"""fit/evaluate/predict data handling: sample and class weights, iterables of batches,
steps_per_epoch, validation_freq, and every check before the first step."""
import itertools
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import data_adapter, layers, losses, optimizers


def model(classes=3, seed=0, optimizer=None, loss="sparse_categorical_crossentropy",
          **compile_kwargs):
    mg.set_random_seed(seed)
    m = mg.Sequential([layers.Dense(5, activation="tanh", input_shape=(4,)),
                       layers.Dense(classes, activation="softmax")])
    m.compile(optimizer=optimizer or optimizers.SGD(0.1, momentum=0.9), loss=loss,
              **compile_kwargs)
    return m


def data(n=20, seed=1, classes=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 4)).astype("float32"),
            rng.integers(0, classes, n))


def state(m):
    return [w.copy() for w in m.get_weights()], [v.numpy().copy() for v in m.optimizer.variables], \
        m.optimizer.iterations


def assert_state(m, before):
    weights, slots, iterations = state(m)
    for a, b in zip(before[0] + before[1], weights + slots):
        np.testing.assert_array_equal(a, b)
    assert iterations == before[2]


# ------------------------------------------------------------------------ weights reduce as Keras
def test_sample_weight_loss_is_weighted_sum_over_batch_size():
    x, y = data(8)
    m = model()
    w = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=float)
    per_sample = losses.sparse_categorical_crossentropy(y, m.predict(x, verbose=0)).numpy()
    got = m.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0)
    assert got == pytest.approx(np.sum(per_sample * w) / 8, rel=1e-5)
    assert m.evaluate(x, y, batch_size=8, verbose=0) == pytest.approx(per_sample.mean(), rel=1e-5)


def test_weighted_metrics_are_weighted_and_metrics_are_not():
    x, y = data(10)
    m = model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    w = np.linspace(0, 2, 10)
    correct = (m.predict(x, verbose=0).argmax(-1) == y).astype(float)
    logs = m.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}
    assert logs["accuracy"] == pytest.approx(correct.mean())
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(correct * w) / np.sum(w))


def test_class_weight_equals_the_matching_sample_weight():
    x, y = data(20)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    a, b = model(), model()
    ha = a.fit(x, y, class_weight=class_weight, batch_size=5, epochs=2, shuffle=False,
               verbose=0)
    hb = b.fit(x, y, sample_weight=np.array([class_weight[c] for c in y]), batch_size=5,
               epochs=2, shuffle=False, verbose=0)
    assert ha.history["loss"] == pytest.approx(hb.history["loss"])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb)
    one_hot = model(loss="categorical_crossentropy")
    one_hot.fit(x, np.eye(3)[y], class_weight=class_weight, batch_size=5, epochs=2,
                shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), one_hot.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_zero_weights_freeze_the_data_term():
    x, y = data(8)
    m = model(optimizer=optimizers.SGD(0.5))
    before = m.get_weights()
    m.fit(x, y, sample_weight=np.zeros(8), epochs=1, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ iterables of batches
def batches_of(x, y, size, weights=None):
    out = []
    for start in range(0, len(x), size):
        item = (x[start:start + size], y[start:start + size])
        if weights is not None:
            item += (weights[start:start + size],)
        out.append(item)
    return out


def test_a_list_of_batches_trains_like_the_arrays():
    x, y = data(20)
    w = np.linspace(0.5, 1.5, 20)
    a, b, c = model(), model(), model()
    ha = a.fit(x, y, sample_weight=w, batch_size=5, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(batches_of(x, y, 5, w), epochs=3, verbose=0)
    batches = batches_of(x, y, 5, w)
    hc = c.fit((batch for batch in itertools.cycle(batches)), steps_per_epoch=4, epochs=3,
               verbose=0)
    assert ha.history["loss"] == pytest.approx(hb.history["loss"])
    assert ha.history["loss"] == pytest.approx(hc.history["loss"])
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wb)
        np.testing.assert_allclose(wa, wc)
    assert a.evaluate(x, y, verbose=0) == pytest.approx(
        a.evaluate(batches_of(x, y, 7), verbose=0))
    assert a.evaluate(x, y, verbose=0) == pytest.approx(
        a.evaluate(iter(batches_of(x, y, 7)), verbose=0))
    np.testing.assert_allclose(a.predict(x, verbose=0),
                               a.predict(iter([x[:7], x[7:]]), verbose=0), rtol=1e-6)
    np.testing.assert_allclose(a.predict(x, verbose=0),
                               a.predict(batches_of(x, y, 6), verbose=0), rtol=1e-6)


def test_a_generator_needs_steps_per_epoch_and_says_so():
    x, y = data(20)
    m = model()
    with pytest.raises(ValueError, match="generator, which can be read only once and may "
                                         "never end: pass `steps_per_epoch`"):
        m.fit((b for b in batches_of(x, y, 5)), epochs=2, verbose=0)


def test_a_generator_that_runs_out_stops_training_with_a_warning():
    x, y = data(20)
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = m.fit(iter(batches_of(x, y, 5)), steps_per_epoch=3, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2 and m.optimizer.iterations == 4


def test_bad_batches_in_a_list_raise_before_any_step():
    x, y = data(20)
    m = model()
    m.fit(x, y, epochs=1, verbose=0)                  # momentum slots exist
    before = state(m)
    bad_label = batches_of(x, y.copy(), 5)
    bad_label[3][1][0] = 7
    with pytest.raises(ValueError, match="y of batch 3.*label 7"):
        m.fit(bad_label, epochs=1, verbose=0)
    wrong_shape = batches_of(x, y, 5)
    wrong_shape[2] = (np.ones((5, 3)), y[:5])
    with pytest.raises(ValueError, match="x of batch 2"):
        m.fit(wrong_shape, epochs=1, verbose=0)
    inconsistent = batches_of(x, y, 5) + [(x[:5], y[:5], np.ones(5))]
    with pytest.raises(ValueError, match="Batch 4 from `x` does not match the first batch"):
        m.fit(inconsistent, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="sample_weight of batch 0"):
        m.fit([(x[:5], y[:5], np.ones(4))], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`y` must be None when `x` is an iterable"):
        m.fit(batches_of(x, y, 5), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(batches_of(x, y, 5), validation_split=0.2, verbose=0)
    assert_state(m, before)


def test_a_bad_generator_batch_raises_before_its_own_step():
    x, y = data(20)
    m = model()
    good = batches_of(x, y, 5)

    def generate():
        yield from good[:2]
        yield (x[:5], np.full(5, 9))
    with pytest.raises(ValueError, match="y of batch 2.*label 9"):
        m.fit(generate(), steps_per_epoch=3, verbose=0)
    assert m.optimizer.iterations == 2                 # the two good batches only
    with pytest.raises(ValueError, match="batch 1 is ndarray"):
        m.fit(iter([(x[:5], y[:5]), x[5:]]), steps_per_epoch=2, epochs=1, verbose=0)
    assert m.optimizer.iterations == 3


# ------------------------------------------------------------------------ array checks
def test_every_array_check_happens_before_the_first_step():
    x, y = data(20)
    m = model()
    m.fit(x, y, epochs=1, verbose=0)
    before = state(m)
    late_bad_label = y.copy()
    late_bad_label[-1] = 3                           # last batch only
    with pytest.raises(ValueError, match=r"`y` does not fit.*labels must be in \[0, 3\).*3"):
        m.fit(x, late_bad_label, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="y_val.*label 5"):
        m.fit(x, y, validation_data=(x, np.full(20, 5)), verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` must have one entry per sample: "
                                         "length 20"):
        m.fit(x, y, sample_weight=np.ones(19), verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` must be finite"):
        m.fit(x, y, sample_weight=np.r_[np.ones(19), np.nan], verbose=0)
    with pytest.raises(ValueError, match=r"`class_weight` has no weight for class\(es\) \[2\]"):
        m.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="cannot use `class_weight` and `sample_weight`"):
        m.fit(x, y, class_weight={0: 1, 1: 1, 2: 1}, sample_weight=np.ones(20), verbose=0)
    with pytest.raises(ValueError, match="class_weight\\[1\\]=-1"):
        m.fit(x, y, class_weight={0: 1, 1: -1, 2: 1}, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch=0"):
        m.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="validation_freq=0"):
        m.fit(x, y, validation_freq=0, verbose=0)
    assert_state(m, before)
    regression = model(loss="mse")
    with pytest.raises(ValueError, match="`class_weight` needs a classification loss.*"
                                         "mean_squared_error"):
        regression.fit(x, np.eye(3)[y], class_weight={0: 1, 1: 1, 2: 1}, verbose=0)


def test_compile_checks_everything_before_replacing_anything():
    x, y = data(20)
    m = model(metrics=["accuracy"])
    m.fit(x, y, epochs=1, verbose=0)
    optimizer, loss, metrics = m.optimizer, m.loss, m.compiled_metrics
    for bad in [dict(optimizer="adam", loss="sparse_categorical_crossentropyy"),
                dict(optimizer="adam", loss="mse", metrics=["acuracy"]),
                dict(optimizer="adamm", loss="mse"),
                dict(optimizer="adam", loss="mse", weighted_metrics=["nope"])]:
        with pytest.raises(ValueError):
            m.compile(**bad)
        assert m.optimizer is optimizer and m.loss is loss and m.compiled_metrics == metrics
    assert optimizer.variables and optimizer.iterations == 1


# ------------------------------------------------------------------------ steps and validation
def test_steps_per_epoch_on_arrays_carries_on_across_epochs():
    x, y = data(20)
    a, b = model(), model()
    a.fit(x, y, batch_size=5, steps_per_epoch=2, epochs=2, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=5, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb)                # 2 + 2 batches = one pass


def test_validation_freq_and_learning_rate_in_logs():
    x, y = data(20)
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    m = model(optimizer=optimizers.SGD(schedule))
    history = m.fit(x, y, batch_size=5, epochs=4, validation_data=(x, y), validation_freq=2,
                    verbose=0)
    val_epochs = []
    callback = mg.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: val_epochs.append("val_loss" in logs))
    m.fit(x, y, batch_size=5, epochs=3, validation_data=(x, y), validation_freq=[1, 3],
          callbacks=[callback], verbose=0)
    assert val_epochs == [True, False, True]
    assert len(history.history["val_loss"]) == 2
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125, 0.00625])
    plain = model()
    assert "learning_rate" not in plain.fit(x, y, verbose=0).history


def test_is_batch_iterable():
    x, y = data(4)
    assert data_adapter.is_batch_iterable([(x, y)])
    assert data_adapter.is_batch_iterable(iter([x]))
    assert not data_adapter.is_batch_iterable(x)
    assert not data_adapter.is_batch_iterable([x, x])          # a multi-input x
    assert not data_adapter.is_batch_iterable([[1.0, 2.0]])
    assert not data_adapter.is_batch_iterable(mg.Tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not data_adapter.is_batch_iterable({"a": x})
