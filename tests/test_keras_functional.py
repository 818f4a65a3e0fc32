"""Functional models in ``.keras`` files and ONNX: minigrad -> Keras -> minigrad and
Keras -> minigrad give identical weights and predictions (merge layers, several inputs
and outputs, shared layers, causal padding in a graph); ONNX exports agree."""
import os

import numpy as np
import pytest
from conftest import import_keras

import minigrad as mg
from minigrad import constraints, layers, regularizers

pytest.importorskip("h5py")
keras, KERAS_MISSING = import_keras()
needs_keras = pytest.mark.skipif(keras is None, reason=str(KERAS_MISSING))
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def outputs(model, x):
    out = model(x)
    return [t.numpy() for t in out] if isinstance(out, (list, tuple)) else [out.numpy()]


def k_outputs(model, x):
    out = model.predict(x, verbose=0)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([(np.abs(rng.normal(size=w.shape)) + 0.1).astype(w.dtype)
                       for w in model.weights])


def tcn_1d():
    inp = mg.Input((16, 3), name="series")
    a = layers.SeparableConv1D(3, 3, padding="causal", dilation_rate=2, depth_multiplier=2,
                               activation="relu",
                               depthwise_regularizer=regularizers.L2(0.01))(inp)
    b = layers.Add()([a, inp])
    c = layers.DepthwiseConv1D(2, padding="causal", dilation_rate=4,
                               depthwise_constraint=constraints.NonNeg())(b)
    d = layers.Concatenate()([layers.Subtract()([c, b]), layers.Multiply()([b, a])])
    e = layers.BatchNormalization()(d)
    return mg.Model(inp, [layers.Dense(2)(layers.GlobalAveragePooling1D()(e)), e],
                    name="tcn"), [(2, 16, 3)]


def two_inputs_2d():
    img = mg.Input((8, 7, 2), name="image")
    aux = mg.Input((3, 8, 7), name="aux_first")
    x = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2,
                               pointwise_constraint=constraints.MaxNorm(2.0))(img)
    y = layers.DepthwiseConv2D((3, 2), padding="same", data_format="channels_first",
                               depth_multiplier=2)(aux)
    y = layers.Conv2D(4, 1, data_format="channels_first")(y)
    y = layers.Reshape((8, 7, 4))(layers.Flatten(data_format="channels_first")(y))
    shared = layers.DepthwiseConv2D(3, padding="same", name="shared")
    z = layers.Average()([shared(x), shared(y), x])
    z = layers.Maximum()([z, layers.Minimum()([x, y])])
    out = layers.Dense(3, activation="softmax")(layers.GlobalMaxPooling2D()(z))
    return mg.Model([img, aux], out, name="two"), [(2, 8, 7, 2), (2, 3, 8, 7)]


@needs_keras
@pytest.mark.parametrize("build", [tcn_1d, two_inputs_2d])
def test_functional_round_trips_through_keras(tmp_path, build):
    model, shapes = build()
    randomize(model)
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=s).astype("float32") for s in shapes]
    x = xs[0] if len(xs) == 1 else xs
    expected = outputs(model, x)
    path = str(tmp_path / "f.keras")
    model.save(path)
    k = keras.models.load_model(path)
    k_names = [l.name for l in k.layers if not l.name.endswith("_causal_padding")]
    assert k_names == [l.name for l in model.layers]
    for a, b in zip(k_outputs(k, x), expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(k.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    again = mg.models.load_model(path)
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
    for a, b in zip(outputs(again, x), expected):
        np.testing.assert_array_equal(a, b)
    k_path = str(tmp_path / "k.keras")
    k.save(k_path)
    back = mg.models.load_model(k_path)
    assert [l.get_config().get("padding") for l in back.layers] == \
        [l.get_config().get("padding") for l in model.layers]
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(outputs(back, x), expected):
        np.testing.assert_array_equal(a, b)
    # weights alone, Keras's layout, both ways
    model.save_weights(tmp_path / "w.weights.h5")
    k.set_weights([w * 0 for w in k.get_weights()])
    k.load_weights(str(tmp_path / "w.weights.h5"))
    for a, b in zip(k.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", [tcn_1d, two_inputs_2d])
def test_functional_onnx_export_agrees(tmp_path, build):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator
    model, shapes = build()
    randomize(model)
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=s).astype("float32") for s in shapes]
    expected = outputs(model, xs[0] if len(xs) == 1 else xs)
    path = str(tmp_path / "f.onnx")
    model.export(path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    feeds = {i.name: x for i, x in zip(proto.graph.input, xs)}
    assert list(feeds) == [t.name for t in model.inputs]
    for a, b in zip(ReferenceEvaluator(proto).run(None, feeds), expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for a, b in zip(session.run(None, feeds), expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@needs_keras
def test_a_keras_functional_model_opens_in_minigrad(tmp_path):
    a = keras.Input((10, 4), name="a")
    b = keras.Input((10, 4), name="b")
    shared = keras.layers.SeparableConv1D(4, 3, padding="same", name="shared")
    x = keras.layers.Add()([shared(a), shared(b)])
    x = keras.layers.ZeroPadding1D((4, 0))(x)
    x = keras.layers.DepthwiseConv1D(3, dilation_rate=2, depth_multiplier=1)(x)
    y = keras.layers.Concatenate(axis=1)([x, keras.layers.Cropping1D((1, 1))(a)])
    pooled = keras.layers.Dropout(0.3)(keras.layers.GlobalAveragePooling1D()(y))
    out = keras.layers.Dense(2)(pooled)       # Keras records training=False on the dropout
    k = keras.Model([a, b], [out, x], name="keras_graph")
    rng = np.random.default_rng(4)
    k.set_weights([rng.normal(size=w.shape).astype("float32") for w in k.get_weights()])
    path = str(tmp_path / "k.keras")
    k.save(path)
    m = mg.models.load_model(path)
    assert m.name == "keras_graph" and [l.name for l in m.layers] == [l.name for l in k.layers]
    xs = [rng.normal(size=(3, 10, 4)).astype("float32") for _ in range(2)]
    for got, want in zip(outputs(m, xs), k_outputs(k, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_subclassed_model_save_refused_without_a_file(tmp_path):
    class Net(mg.Model):
        def __init__(self):
            super().__init__()
            self.head = layers.Dense(2)

        def call(self, x, training=False):
            return self.head(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        net.save(tmp_path / "net.keras")
    assert os.listdir(tmp_path) == []
    net.save_weights(tmp_path / "w.weights.h5")       # weights alone still work
    twin = Net()
    twin(np.ones((1, 3), "float32"))
    twin.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(twin.get_weights(), net.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_keras
@pytest.mark.parametrize("name", ["MobileNetV2", "MiniXception", "TCN"])
def test_applications_round_trip_and_export(tmp_path, name):
    applications = pytest.importorskip("minigrad.applications")
    build = {"MobileNetV2": lambda: applications.MobileNetV2(input_shape=(32, 32, 3),
                                                             alpha=0.35, classes=5),
             "MiniXception": lambda: applications.MiniXception(input_shape=(32, 32, 3),
                                                               classes=5),
             "TCN": lambda: applications.TCN((20, 2))}[name]
    model = build()
    rng = np.random.default_rng(0)
    model.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") * 0.3 + 0.5
                       if "variance" in w.name else
                       rng.normal(size=w.shape).astype("float32") * 0.3
                       for w in model.weights])
    shape = (2,) + tuple(model.input_shape[1:])
    x = rng.normal(size=shape).astype("float32")
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "app.keras")
    model.save(path)
    k = keras.models.load_model(path)
    np.testing.assert_allclose(k.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    k.save(str(tmp_path / "k.keras"))
    back = mg.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_array_equal(back.predict(x, verbose=0), expected)
    ort = pytest.importorskip("onnxruntime")
    model.export(tmp_path / "app.onnx")
    session = ort.InferenceSession(str(tmp_path / "app.onnx"),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0],
                               expected, rtol=1e-4, atol=1e-5)
