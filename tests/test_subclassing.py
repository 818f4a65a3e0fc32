"""Subclassing: layers held as attributes of a Layer or Model subclass are tracked."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import layers

RNG = np.random.default_rng(11)


class Residual(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.dw = layers.DepthwiseConv2D(3, padding="same")
        self.pw = layers.Conv2D(filters, 1)

    def call(self, x, training=False):
        return x + self.pw(self.dw(x))


class Net(mg.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = Residual(3)
        self.head = layers.Dense(4)

    def call(self, x, training=False):
        return self.head(layers.GlobalAveragePooling2D()(self.block(x)))


class Containers(mg.Model):
    def __init__(self):
        super().__init__()
        self.stack = [layers.Dense(5, kernel_regularizer="l2"), layers.Dense(5)]
        self.heads = {"b": layers.Dense(2), "a": layers.Dense(1)}
        self.pair = (layers.BatchNormalization(),)
        self.later = []

    def call(self, x, training=False):
        for layer in self.stack:
            x = layer(x)
        x = self.pair[0](x)
        for layer in self.later:
            x = layer(x)
        return self.heads["b"](x)


def test_attribute_layers_are_tracked_in_assignment_order():
    net = Net()
    with pytest.raises(ValueError, match="not yet been built"):
        net.count_params()
    x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    y = net(x)
    assert y.shape == (2, 4)
    assert net.layers == [net.block, net.head]
    block = net.block
    expected = block.dw.weights + block.pw.weights + net.head.weights
    assert [id(w) for w in net.weights] == [id(w) for w in expected]
    assert net.count_params() == (9 * 3 + 3) + (3 * 3 + 3) + (3 * 4 + 4)
    manual = net.head(np.mean(x + block.pw(block.dw(x)).data, axis=(1, 2)))
    np.testing.assert_allclose(y.data, manual.data, rtol=1e-5)


def test_lists_dicts_tuples_and_late_appends_are_tracked():
    model = Containers()
    model.later.append(layers.Dense(5, name="appended"))
    model(np.ones((4, 3), "float32"))
    names = [l.name for l in model.layers]
    assert names[-1] == "appended" and len(names) == 6
    assert len(model.non_trainable_weights) == 2          # moving mean and variance
    assert len(model.losses) == 1                         # the l2 penalty on stack[0]
    model.trainable = False
    assert model.trainable_weights == [] and all(not l.trainable for l in model.layers)
    assert model.losses == []
    model.trainable = True
    assert len(model.trainable_weights) == len(model.weights) - 2


def test_get_set_save_and_load_weights(tmp_path):
    x = RNG.normal(size=(2, 5, 5, 3)).astype("float32")
    a, b = Net(), Net()
    a(x), b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a(x).data, b(x).data, rtol=1e-6)
    path = a.save_weights(tmp_path / "net.npz")
    c = Net()
    c(x)
    c.load_weights(path)
    np.testing.assert_allclose(c(x).data, a(x).data, rtol=1e-6)


def test_subclassed_model_trains_evaluates_predicts_and_summarizes():
    mg.set_random_seed(0)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 5, 5, 3)).astype("float32")
    y = rng.integers(0, 4, size=16)
    net = Net()
    net.compile(mg.optimizers.SGD(0.05),
                mg.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = net.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert net.predict(x, verbose=0).shape == (16, 4)
    assert len(net.evaluate(x, y, verbose=0)) == 2
    lines = []
    net.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert f"{net.block.name} (Residual)" in text and "(None, 5, 5, 3)" in text
    assert f"Total params: {net.count_params():,}" in text


class NoisyBlock(layers.Layer):
    def __init__(self):
        super().__init__()
        self.drop = layers.Dropout(0.5)

    def call(self, x):                       # no training argument: it is handed down
        return self.drop(x)


class Outer(mg.Model):
    def __init__(self):
        super().__init__()
        self.inner = NoisyBlock()

    def call(self, x, training=False):
        return self.inner(x)


def test_training_reaches_nested_layers():
    model = Outer()
    x = np.ones((4, 100), "float32")
    assert np.array_equal(model(x).data, x)
    assert (model(x, training=True).data == 0).any()


def test_model_without_weights_says_why_when_asked_to_train():
    class Empty(mg.Model):
        def call(self, x, training=False):
            return layers.Dense(2)(x)        # made inside call: never tracked

    model = Empty()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="no weights.*attributes"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_subclass_of_layer_used_in_a_functional_model():
    inputs = mg.Input((6, 6, 3))
    outputs = Residual(3)(inputs)
    model = mg.Model(inputs, outputs)
    assert outputs.shape == (None, 6, 6, 3)
    assert model.count_params() == (9 * 3 + 3) + (3 * 3 + 3)
    x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    assert model(x).shape == (2, 6, 6, 3)


class TwoDense(mg.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(4, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, x, training=False):
        return self.out(self.hidden(x))


def test_three_styles_build_train_and_save_the_same_network(tmp_path):
    sequential = mg.Sequential([mg.Input((6,)), layers.Dense(4, activation="tanh"),
                                layers.Dense(2)])
    inputs = mg.Input((6,))
    functional = mg.Model(inputs, layers.Dense(2)(layers.Dense(4, activation="tanh")(inputs)))
    subclassed = TwoDense()
    subclassed.build((None, 6))                         # runs call once to make weights
    models = [sequential, functional, subclassed]
    assert {m.count_params() for m in models} == {6 * 4 + 4 + 4 * 2 + 2}
    path = sequential.save_weights(tmp_path / "w.npz")
    functional.load_weights(path)
    subclassed.load_weights(path)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 6)).astype("float32"), rng.normal(size=(12, 2))
    outputs = [m.predict(x, verbose=0) for m in models]
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-6)
    np.testing.assert_allclose(outputs[2], outputs[0], rtol=1e-6)
    histories = []
    for m in models:
        m.compile(mg.optimizers.SGD(0.1), "mse")
        histories.append(m.fit(x, y, batch_size=4, epochs=2, shuffle=False,
                               verbose=0).history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-6)
    np.testing.assert_allclose(histories[2], histories[0], rtol=1e-6)
    for m in models[1:]:
        for a, b in zip(m.get_weights(), sequential.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    totals = []
    for m in models:
        lines = []
        m.summary(print_fn=lines.append)
        totals.append([l for l in lines if l.startswith(("Total", "Mult-adds"))])
    assert totals[0] == totals[1] == totals[2]


class FunctionalSubclass(mg.Model):
    """Keras's pattern: a subclass whose __init__ builds a graph and hands it up."""

    def __init__(self, units=3, **kwargs):
        inputs = mg.Input((5,), name="features")
        outputs = layers.Dense(units)(layers.Dense(4, activation="relu")(inputs))
        super().__init__(inputs, outputs, **kwargs)
        self.units = units

    def describe(self):
        return f"{self.name}: {self.units} outputs"


def test_subclass_handing_inputs_and_outputs_up_is_a_functional_model():
    model = FunctionalSubclass(name="sub_functional")
    assert isinstance(model, FunctionalSubclass) and isinstance(model, mg.models.Functional)
    assert type(model).__name__ == "FunctionalSubclass"
    assert model.describe() == "sub_functional: 3 outputs"
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Dense"]
    assert model.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    model.compile(mg.optimizers.SGD(0.05), "mse")
    x = np.random.default_rng(2).normal(size=(8, 5))
    history = model.fit(x, np.zeros((8, 3)), epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0]
    lines = []
    model.summary(print_fn=lines.append)
    assert "Connected to" in lines[2]
