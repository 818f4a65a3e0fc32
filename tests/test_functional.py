"""The functional API: mg.Input, symbolic tensors, mg.Model(inputs, outputs)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(7)


class Sum(layers.Layer):
    """A user-written merge layer: takes a list and adds it up."""

    def call(self, inputs):
        total = inputs[0]
        for t in inputs[1:]:
            total = total + t
        return total


class Scale(layers.Layer):
    """A user-written layer without compute_output_shape: its shape comes from a run."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w


def residual_model(dtype="float32"):
    inputs = mg.Input((6,), name="features", dtype=dtype)
    x = layers.Dense(4, activation="tanh", dtype=dtype)(inputs)
    shortcut = x
    x = layers.Dense(4, dtype=dtype)(x)
    x = Sum(dtype=dtype)([x, shortcut])
    outputs = layers.Dense(3, dtype=dtype)(x)
    return mg.Model(inputs, outputs, name="residual")


def test_input_is_a_symbolic_tensor():
    x = mg.Input((8, 8, 1), name="image")
    assert x.shape == (None, 8, 8, 1) and x.dtype == np.float32 and x.name == "image"
    assert isinstance(x.layer, layers.InputLayer) and x.layer.name == "image"
    assert mg.Input((3,), batch_size=4, dtype="float64").shape == (4, 3)
    with pytest.raises(TypeError, match="placeholder"):
        x.numpy()
    with pytest.raises(TypeError, match="placeholder"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Add"):
        x + x


def test_layer_on_symbolic_tensor_builds_and_returns_symbolic():
    x = mg.Input((64,))
    dense = layers.Dense(16)
    y = dense(x)
    assert dense.built and dense.kernel.shape == (64, 16)
    assert y.shape == (None, 16) and y.layer is dense and y.node.input_tensors == [x]
    z = layers.Flatten()(layers.Conv2D(4, 3, strides=2)(mg.Input((9, 9, 2))))
    assert z.shape == (None, 4 * 4 * 4)
    scaled = Scale()(mg.Input((None, 5)))               # shape found by running on zeros
    assert scaled.shape == (None, None, 5)


def test_functional_model_runs_trains_and_matches_manual_forward():
    model = residual_model("float64")
    assert [l.name for l in model.layers][0] == "features"
    assert model.input_shape == (None, 6) and model.output_shape == (None, 3)
    x = RNG.normal(size=(5, 6))
    d1, d2, d3 = [model.layers[i] for i in (1, 2, 4)]
    h = np.tanh(x @ d1.kernel.data + d1.bias.data)
    expected = ((h @ d2.kernel.data + d2.bias.data) + h) @ d3.kernel.data + d3.bias.data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-12)
    assert model.count_params() == 6 * 4 + 4 + 4 * 4 + 4 + 4 * 3 + 3
    model.compile("sgd", "mse")
    before = model.evaluate(x, np.zeros((5, 3)), verbose=0)
    model.fit(x, np.zeros((5, 3)), epochs=5, verbose=0)
    assert model.evaluate(x, np.zeros((5, 3)), verbose=0) < before


def test_training_given_in_the_graph_pins_that_layer_as_in_keras():
    """Dropout(...)(x, training=True) drops at predict too; training=False never drops."""
    inputs = mg.Input((400,))
    always = layers.Dropout(0.5)(inputs, training=True)
    never = layers.Dropout(0.5)(inputs, training=False)
    model = mg.Model(inputs, [always, never])
    x = np.ones((2, 400))
    dropped, kept = model.predict(x, verbose=0)
    assert 0.3 < (dropped == 0).mean() < 0.7 and set(np.unique(dropped)) <= {0.0, 2.0}
    np.testing.assert_array_equal(kept, x)
    dropped, kept = model(x, training=True)
    np.testing.assert_array_equal(kept.numpy(), x)


def test_functional_gradients_pass_gradcheck():
    model = residual_model("float64")
    for w in model.trainable_weights:
        w.assign(RNG.normal(size=w.shape))
    x = RNG.normal(size=(3, 6))
    mg.gradcheck(lambda t: (model(t) ** 2).sum(), [x])
    # weights: the tape's gradient against central differences on every entry
    with mg.GradientTape() as tape:
        loss = (model(x) ** 2).sum()
    grads = tape.gradient(loss, model.trainable_weights)
    for w, g in zip(model.trainable_weights, grads):
        numeric = np.zeros(w.shape)
        for i in range(w.size):
            original = w.data.flat[i]
            w.data.flat[i] = original + 1e-6
            up = float((model(x) ** 2).sum().data)
            w.data.flat[i] = original - 1e-6
            down = float((model(x) ** 2).sum().data)
            w.data.flat[i] = original
            numeric.flat[i] = (up - down) / 2e-6
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


def test_tape_entries_carry_layer_names_and_find_nonfinite_names_the_layer():
    model = residual_model()
    x = RNG.normal(size=(2, 6)).astype("float32")
    with mg.GradientTape() as tape:
        y = model(x)
    assert {e.layer for e in tape} == {l.name for l in model.layers[1:]}

    class LogOfZero(layers.Layer):
        def call(self, x):
            return mg.ops.log(x * 0.0)
    inputs = mg.Input((6,))
    broken = mg.Model(inputs, LogOfZero(name="bad_log")(layers.Dense(2)(inputs)))
    with mg.GradientTape() as tape, np.errstate(all="ignore"):
        y = broken(x).sum()
        report = tape.find_nonfinite(y, broken.trainable_weights)
    assert report.found and report.forward.layer == "bad_log" and report.forward.op == "log"


def test_shared_layer_shares_weights_and_is_listed_once():
    shared = layers.Dense(3, name="shared")
    a, b = mg.Input((4,), name="a"), mg.Input((4,), name="b")
    out = Sum()([shared(a), shared(b)])
    model = mg.Model([a, b], out)
    assert [l.name for l in model.layers].count("shared") == 1
    assert len(model.weights) == 2
    xa, xb = RNG.normal(size=(2, 4)), RNG.normal(size=(2, 4))
    expected = (xa + xb) @ shared.kernel.data + 2 * shared.bias.data
    np.testing.assert_allclose(model([xa, xb]).data, expected, rtol=1e-5)
    np.testing.assert_allclose(model({"a": xa, "b": xb}).data, expected, rtol=1e-5)
    with mg.GradientTape() as tape:
        y = model([xa, xb]).sum()
    g_kernel, _ = tape.gradient(y, [shared.kernel, shared.bias])
    np.testing.assert_allclose(g_kernel, np.repeat((xa + xb).sum(0)[:, None], 3, 1), rtol=1e-5)


def test_multi_output_and_nested_model():
    inputs = mg.Input((5,))
    inner = mg.Model(inputs, layers.Dense(4, name="inner_dense")(inputs), name="inner")
    x = mg.Input((5,), name="outer_in")
    h = inner(x)
    model = mg.Model(x, [layers.Dense(1, name="head_a")(h), layers.Dense(2, name="head_b")(h)])
    assert model.output_names == ["head_a", "head_b"]
    assert [type(l).__name__ for l in model.layers][:2] == ["InputLayer", "Functional"]
    ya, yb = model(np.ones((3, 5), "float32"))
    assert ya.shape == (3, 1) and yb.shape == (3, 2)
    assert model.count_params() == 5 * 4 + 4 + 4 * 1 + 1 + 4 * 2 + 2
    assert model.weights[0] is inner.layers[1].kernel
    with mg.GradientTape() as tape:
        loss = (ya * 0).sum()
        ya, yb = model(np.ones((3, 5), "float32"))
        loss = ya.sum() + yb.sum()
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None for g in grads)


def test_training_reaches_layers_in_the_graph():
    inputs = mg.Input((50,))
    model = mg.Model(inputs, layers.Dropout(0.5)(inputs))
    x = np.ones((4, 50), "float32")
    assert np.array_equal(model(x).data, x)
    assert (model(x, training=True).data == 0).any()


def test_config_round_trip_rebuilds_the_same_graph():
    model = residual_model()
    clone = mg.Model.from_config(model.get_config(), custom_objects={"Sum": Sum})
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    with pytest.raises(ValueError, match="custom_objects"):
        mg.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = RNG.normal(size=(2, 6)).astype("float32")
    np.testing.assert_allclose(clone(x).data, model(x).data, rtol=1e-6)


def test_errors_name_the_culprit():
    a, b = mg.Input((4,), name="first"), mg.Input((4,), name="second")
    out = Sum()([layers.Dense(2)(a), layers.Dense(2)(b)])
    with pytest.raises(ValueError, match="Graph disconnected.*'second'"):
        mg.Model(a, out)
    with pytest.raises(ValueError, match="'second'.*not connected"):
        mg.Model([a, b], layers.Dense(2)(a))
    x = mg.Input((4,))
    h = layers.Dense(2, name="twin")(x)
    with pytest.raises(ValueError, match="'twin' is used 2 times"):
        mg.Model(x, layers.Dense(2, name="twin")(h))
    with pytest.raises(TypeError, match="single input"):
        layers.Dense(2)([a, b])
    dense = layers.Dense(2)
    dense(mg.Input((4,)))
    with pytest.raises(ValueError, match="already built for inputs of shape"):
        dense(mg.Input((5,)))
    model = mg.Model(a, layers.Dense(2)(a))
    with pytest.raises(ValueError, match="'first'.*expects shape \\(None, 4\\)"):
        model(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="'first'"):
        model.predict(np.zeros((2, 4, 1)), verbose=0)
    with pytest.raises(TypeError, match="symbolic tensor"):
        mg.Model(a, np.zeros(3))


def test_sequential_starts_from_input_and_runs_on_the_graph():
    model = mg.Sequential([mg.Input((8, 8, 1)), layers.Flatten(), layers.Dense(10)])
    assert model.built and model.output_shape == (None, 10)
    assert [type(l).__name__ for l in model.layers] == ["Flatten", "Dense"]
    assert model.inputs[0].shape == (None, 8, 8, 1)
    assert model(np.zeros((2, 8, 8, 1))).shape == (2, 10)
    deferred = mg.Sequential([layers.Dense(3), Scale()])
    assert deferred(np.ones((2, 5))).shape == (2, 3)
    assert deferred.output_shape == (None, 3)


def _two_in_two_out():
    a, b = mg.Input((4,), name="a"), mg.Input((3,), name="b")
    h = Sum()([layers.Dense(3)(a), b])
    return mg.Model({"a": a, "b": b}, [layers.Dense(1, name="reg")(h),
                                       layers.Dense(3, name="cls")(h)])


def test_multi_input_multi_output_compile_fit_evaluate_predict():
    mg.set_random_seed(0)
    model = _two_in_two_out()
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    y_reg, y_cls = rng.normal(size=(20, 1)), rng.integers(0, 3, 20)
    model.compile("sgd", loss={"reg": "mse",
                               "cls": mg.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"reg": 2.0, "cls": 0.5}, metrics={"cls": ["accuracy"]})
    history = model.fit({"a": xa, "b": xb}, [y_reg, y_cls], epochs=2, batch_size=8,
                        validation_split=0.25, verbose=0).history
    assert list(history) == ["loss", "reg_loss", "cls_loss", "cls_accuracy", "val_loss",
                             "val_reg_loss", "val_cls_loss", "val_cls_accuracy"]
    logs = model.evaluate({"a": xa, "b": xb}, {"reg": y_reg, "cls": y_cls}, verbose=0,
                          return_dict=True)
    np.testing.assert_allclose(logs["loss"], 2.0 * logs["reg_loss"] + 0.5 * logs["cls_loss"],
                               rtol=1e-5)
    reg, cls = model.predict({"a": xa, "b": xb}, batch_size=7, verbose=0)
    assert reg.shape == (20, 1) and cls.shape == (20, 3)
    batch = model.train_on_batch({"a": xa, "b": xb}, [y_reg, y_cls], return_dict=True)
    assert set(batch) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}


def test_multi_output_errors():
    model = _two_in_two_out()
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(ValueError, match="not outputs of the model"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="list of lists"):
        model.compile("sgd", loss="mse", metrics=["mae"])
    model.compile("sgd", loss="mse")
    x = {"a": np.zeros((4, 4)), "b": np.zeros((4, 3))}
    with pytest.raises(ValueError, match="2 arrays, one for each output"):
        model.fit(x, np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match="no entry for \\['b'\\]"):
        model.fit({"a": np.zeros((4, 4))}, [np.zeros((4, 1))] * 2, verbose=0)
    with pytest.raises(ValueError, match="'b'.*expects shape"):
        model.predict({"a": np.zeros((4, 4)), "b": np.zeros((4, 2))}, verbose=0)


def test_sequential_build_is_all_or_nothing():
    dense, conv = layers.Dense(3), layers.Conv2D(2, 3)
    model = mg.Sequential([dense, conv])
    with pytest.raises(ValueError, match="conv2d"):
        model(np.zeros((2, 4), "float32"))
    assert not dense.built and dense.weights == [] and not model.built
    assert dense._inbound_nodes == []
    model.pop()
    assert model(np.zeros((2, 4), "float32")).shape == (2, 3)
    assert dense.kernel.shape == (4, 3)
