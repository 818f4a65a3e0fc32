"""Whole models as Keras 3 ``.keras`` archives: minigrad -> Keras -> minigrad and
Keras -> minigrad give identical weights and predictions for the whole family; files that
name things minigrad lacks, or that are malformed, raise ValueErrors naming the file."""
import json
import os
import zipfile

import numpy as np
import pytest
from conftest import import_keras

import minigrad as mg
from minigrad import constraints, initializers, layers, regularizers

pytest.importorskip("h5py")
keras, KERAS_MISSING = import_keras()
needs_keras = pytest.mark.skipif(keras is None, reason=str(KERAS_MISSING))
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def family_cases():
    """(layer factory, input sample shape): every padding, depth_multiplier, data format,
    regularizers, constraints and initializers."""
    reg = dict(depthwise_regularizer=regularizers.L1L2(l1=0.01, l2=0.02),
               bias_regularizer=regularizers.L2(0.03),
               activity_regularizer=regularizers.L1(0.001),
               depthwise_constraint=constraints.MaxNorm(1.5, axis=0),
               bias_constraint=constraints.NonNeg(),
               depthwise_initializer=initializers.HeNormal(seed=3))
    sep = dict(pointwise_regularizer=regularizers.L1(0.02),
               pointwise_constraint=constraints.MinMaxNorm(0.5, 2.0, rate=0.5, axis=0),
               pointwise_initializer="lecun_uniform")
    cases = []
    for padding in ("valid", "same", "causal"):
        for dm in (1, 2):
            cases.append((lambda p=padding, m=dm: layers.SeparableConv1D(
                4, 3, padding=p, depth_multiplier=m, activation="relu", **reg, **sep), (9, 3)))
            cases.append((lambda p=padding, m=dm: layers.DepthwiseConv1D(
                3, padding=p, depth_multiplier=m, dilation_rate=2, activation="tanh",
                **reg), (9, 3)))
    for padding in ("valid", "same"):
        for fmt in ("channels_last", "channels_first"):
            shape = (7, 6, 3) if fmt == "channels_last" else (3, 7, 6)
            cases.append((lambda p=padding, f=fmt: layers.SeparableConv2D(
                5, (3, 2), strides=(2, 1), padding=p, data_format=f, depth_multiplier=2,
                activation="elu", **reg, **sep), shape))
            cases.append((lambda p=padding, f=fmt: layers.DepthwiseConv2D(
                (2, 3), padding=p, data_format=f, dilation_rate=(2, 1), use_bias=False,
                depthwise_constraint=constraints.UnitNorm(axis=[0, 1]),
                depthwise_regularizer=regularizers.L2(0.1)), shape))
    cases.append((lambda: layers.SeparableConv1D(2, 3, padding="causal", strides=2,
                                                 data_format="channels_first"), (3, 9)))
    return cases


CASES = family_cases()


def randomize(model):
    rng = np.random.default_rng(1)
    model.set_weights([np.abs(rng.normal(size=w.shape)).astype(w.dtype) + 0.1
                       for w in model.weights])


def sample(shape, n=2):
    return np.random.default_rng(2).normal(size=(n,) + shape).astype("float32")


def rounded(value):
    """Nested config values with floats to 6 digits (Keras keeps float32 copies)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


def strip(config):
    return rounded({k: v for k, v in config.items() if k != "batch_input_shape"})


def keras_config_value(value):
    """A Keras config value as minigrad writes it (nested objects by class and config)."""
    if isinstance(value, dict) and "class_name" in value:
        return [value["class_name"], keras_config_value(value.get("config"))]
    if isinstance(value, dict):
        return {k: keras_config_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [keras_config_value(v) for v in value]
    return rounded(value)


@needs_keras
@pytest.mark.parametrize("case", range(len(CASES)))
def test_family_round_trips_through_keras(tmp_path, case):
    factory, shape = CASES[case]
    ortho = regularizers.OrthogonalRegularizer(0.01, mode="columns")
    model = mg.Sequential([mg.Input(shape), factory(), layers.Flatten(),
                           layers.Dense(3, kernel_regularizer=ortho)])
    randomize(model)
    x = sample(shape)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "net.keras")
    assert model.save(path) == path
    assert sorted(zipfile.ZipFile(path).namelist()) == ["config.json", "metadata.json",
                                                        "model.weights.h5"]
    k = keras.models.load_model(path)
    family = model.layers[0]
    k_family = [l for l in k.layers if type(l).__name__ == type(family).__name__][0]
    causal = family.padding == "causal"
    assert [type(l).__name__ for l in k.layers] == \
        (["ZeroPadding1D"] if causal else []) + [type(l).__name__ for l in model.layers]
    k_config = k_family.get_config()
    for key, value in family.get_config().items():
        if key in ("batch_input_shape", "dtype"):
            continue
        if key == "padding" and causal:
            assert k_config[key] == "valid"
            continue
        assert keras_config_value(k_config[key]) == keras_config_value(value), key
    for a, b in zip(k.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(k.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    if any(r is not None for r in (family.activity_regularizer,)):
        k(x)
        np.testing.assert_allclose(sum(float(keras.ops.convert_to_numpy(v))
                                       for v in k.losses),
                                   sum(float(v.numpy()) for v in model.losses), rtol=1e-4)

    # minigrad reopens its own file: same configs, weights and predictions
    again = mg.models.load_model(path)
    assert [strip(l.get_config()) for l in again.layers] == \
        [strip(l.get_config()) for l in model.layers]
    np.testing.assert_array_equal(again.predict(x, verbose=0), expected)
    # ... and the file Keras writes back
    k_path = str(tmp_path / "keras.keras")
    k.save(k_path)
    back = mg.models.load_model(k_path)
    assert [type(l).__name__ for l in back.layers] == [type(l).__name__ for l in model.layers]
    assert strip(back.layers[0].get_config()) == strip(family.get_config())
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(x, verbose=0), expected)


@needs_keras
def test_a_model_built_in_keras_opens_in_minigrad(tmp_path):
    k = keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, 3, padding="same", kernel_regularizer=keras.regularizers.L2(1e-3)),
        keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.Activation("relu"),
        keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                     depthwise_constraint=keras.constraints.MaxNorm(2.0)),
        keras.layers.SeparableConv2D(6, 3, strides=2, activation="relu6"),
        keras.layers.MaxPooling2D(2),
        keras.layers.AveragePooling2D(1),
        keras.layers.Dropout(0.2),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(5, activation="softmax"),
    ], name="from_keras")
    rng = np.random.default_rng(0)
    k.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") + 0.1
                   for w in k.get_weights()])
    path = str(tmp_path / "k.keras")
    k.save(path)
    m = mg.models.load_model(path)
    assert m.name == "from_keras"
    assert [type(l).__name__ for l in m.layers] == [type(l).__name__ for l in k.layers]
    assert m.layers[1].momentum == 0.9 and m.layers[3].depth_multiplier == 2
    assert isinstance(m.layers[0].kernel_regularizer, regularizers.L2)
    x = sample((8, 8, 2), 3)
    np.testing.assert_allclose(m.predict(x, verbose=0), k.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(m.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(a, b)


def saved(tmp_path, name="net.keras"):
    model = mg.Sequential([layers.SeparableConv1D(4, 3, input_shape=(9, 3)),
                           layers.Flatten(), layers.Dense(2)])
    path = str(tmp_path / name)
    model.save(path)
    return model, path


def edit_config(path, out, change):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            zout.writestr(item.filename, data)
    return str(out)


def layer_config(config, index):
    return config["config"]["layers"][index]["config"]


@pytest.mark.parametrize("change, message", [
    (lambda c: layer_config(c, 1).update(activation="os.system"), "os.system"),
    (lambda c: layer_config(c, 1).update(activation={
        "module": "os", "class_name": "function", "config": "system",
        "registered_name": "function"}), "system"),
    (lambda c: layer_config(c, 1).update(depthwise_regularizer={
        "module": "os", "class_name": "system", "config": {"command": "echo hi"}}), "system"),
    (lambda c: layer_config(c, 1).update(pointwise_initializer={
        "module": "subprocess", "class_name": "Popen", "config": {"args": "true"}}), "Popen"),
    (lambda c: c["config"]["layers"].__setitem__(2, {
        "module": "keras.layers", "class_name": "Lambda",
        "config": {"name": "evil", "function": "os.system"}}), "Lambda"),
    (lambda c: c["config"]["layers"][2].update(class_name="LSTM"), "LSTM"),
    (lambda c: c.update(class_name="MyModel", module="evil"), "MyModel"),
])
def test_loading_never_reaches_outside_minigrads_registries(tmp_path, monkeypatch, change,
                                                            message):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    _, path = saved(tmp_path)
    bad = edit_config(path, tmp_path / "bad.keras", change)
    with pytest.raises(ValueError, match=message) as info:
        mg.models.load_model(bad)
    assert repr(bad) in str(info.value)
    assert calls == []


@pytest.mark.parametrize("class_name", ["SeparableConv1D", "DepthwiseConv2D"])
def test_family_layer_with_strides_and_dilation_refused_naming_both(tmp_path, class_name):
    if class_name == "SeparableConv1D":
        _, path = saved(tmp_path)
    else:
        path = str(tmp_path / "d.keras")
        mg.Sequential([layers.DepthwiseConv2D(3, input_shape=(9, 9, 2))]).save(path)
    bad = edit_config(path, tmp_path / "bad.keras",
                      lambda c: layer_config(c, 1).update(strides=[2] * len(
                          layer_config(c, 1)["strides"]), dilation_rate=[2] * len(
                          layer_config(c, 1)["strides"])))
    with pytest.raises(ValueError, match=r"strides=.*dilation_rate=") as info:
        mg.models.load_model(bad)
    assert class_name in str(info.value)


def test_keras_only_features_refused_unless_at_their_default(tmp_path):
    path = str(tmp_path / "bn.keras")
    mg.Sequential([layers.BatchNormalization(input_shape=(3,))]).save(path)
    ok = edit_config(path, tmp_path / "ok.keras",
                     lambda c: layer_config(c, 1).update(renorm=False, synchronized=False))
    assert isinstance(mg.models.load_model(ok).layers[0], layers.BatchNormalization)
    bad = edit_config(path, tmp_path / "bad.keras",
                      lambda c: layer_config(c, 1).update(renorm=True))
    with pytest.raises(ValueError, match="renorm"):
        mg.models.load_model(bad)
    unknown = edit_config(path, tmp_path / "unknown.keras",
                          lambda c: layer_config(c, 1).update(flux_capacitor=1))
    with pytest.raises(ValueError, match="flux_capacitor"):
        mg.models.load_model(unknown)


def test_malformed_archives_raise_value_errors_naming_the_file(tmp_path):
    model, path = saved(tmp_path)
    data = open(path, "rb").read()
    bad = {"truncated.keras": data[:len(data) // 2], "text.keras": b"hello",
           "empty.keras": b""}
    for name, payload in bad.items():
        (tmp_path / name).write_bytes(payload)
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    variants = {
        "noconfig.keras": {k: v for k, v in members.items() if k != "config.json"},
        "noweights.keras": {k: v for k, v in members.items() if k != "model.weights.h5"},
        "badjson.keras": dict(members, **{"config.json": b"{"}),
        "badh5.keras": dict(members, **{"model.weights.h5": b"not hdf5"}),
        "listjson.keras": dict(members, **{"config.json": b"[1, 2]"}),
    }
    for name, content in variants.items():
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for k, v in content.items():
                z.writestr(k, v)
    other = str(tmp_path / "other.keras")          # weights of another architecture
    mg.Sequential([layers.SeparableConv1D(5, 3, input_shape=(9, 3)), layers.Flatten(),
                   layers.Dense(2)]).save(other)
    with zipfile.ZipFile(other) as z:
        foreign_weights = z.read("model.weights.h5")
    with zipfile.ZipFile(tmp_path / "misfit.keras", "w") as z:
        z.writestr("config.json", members["config.json"])
        z.writestr("model.weights.h5", foreign_weights)
    names = list(bad) + list(variants) + ["misfit.keras"]
    for name in names:
        with pytest.raises(ValueError) as info:
            mg.models.load_model(tmp_path / name)
        assert repr(str(tmp_path / name)) in str(info.value), (name, str(info.value))
    with pytest.raises(FileNotFoundError):
        mg.models.load_model(tmp_path / "missing.keras")


def test_refused_save_leaves_no_file(tmp_path):
    model = mg.Sequential([layers.Dense(2, input_shape=(3,),
                                        kernel_regularizer=lambda w: (w * w).sum())])
    path = tmp_path / "net.keras"
    with pytest.raises(ValueError, match="kernel_regularizer"):
        model.save(path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "net.h5")
    with pytest.raises(ValueError, match="not built"):
        mg.Sequential([layers.Dense(2)]).save(path)
    assert os.listdir(tmp_path) == []
    _, existing = saved(tmp_path)
    with pytest.raises(FileExistsError):
        model.save(existing, overwrite=False)


@needs_keras
def test_keras_layers_beyond_the_family_open_in_minigrad_and_back(tmp_path):
    k = keras.Sequential([
        keras.Input((12, 10, 3)),
        keras.layers.Rescaling(1 / 255.0, offset=-0.5),
        keras.layers.ZeroPadding2D(((1, 0), (2, 1))),
        keras.layers.Cropping2D(((0, 1), (1, 0))),
        keras.layers.SeparableConv2D(4, 3, padding="same"),
        keras.layers.LayerNormalization(epsilon=1e-4),
        keras.layers.ReLU(max_value=6.0),
        keras.layers.UpSampling2D((1, 2)),
        keras.layers.SpatialDropout2D(0.1),
        keras.layers.DepthwiseConv2D(3),
        keras.layers.LeakyReLU(negative_slope=0.1),
        keras.layers.Reshape((-1, 4)),
        keras.layers.ZeroPadding1D((2, 0)),
        keras.layers.SeparableConv1D(3, 3),             # a plain pair stays two layers
        keras.layers.GlobalMaxPooling1D(),
        keras.layers.Softmax(),
    ])
    rng = np.random.default_rng(3)
    k.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") + 0.1
                   for w in k.get_weights()])
    path = str(tmp_path / "k.keras")
    k.save(path)
    m = mg.models.load_model(path)
    assert [type(l).__name__ for l in m.layers] == [type(l).__name__ for l in k.layers]
    x = rng.uniform(0, 255, size=(2, 12, 10, 3)).astype("float32")
    expected = k.predict(x, verbose=0)
    np.testing.assert_allclose(m.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    back = str(tmp_path / "back.keras")
    m.save(back)
    np.testing.assert_allclose(keras.models.load_model(back).predict(x, verbose=0), expected,
                               rtol=1e-4, atol=1e-6)


@needs_keras
def test_nested_sequential_and_a_trained_keras_model(tmp_path):
    inner = mg.Sequential([layers.SeparableConv1D(4, 3, padding="causal"),
                           layers.BatchNormalization()], name="block")
    model = mg.Sequential([mg.Input((10, 2)), inner, layers.Flatten(), layers.Dense(2)])
    randomize(model)
    x = sample((10, 2), 4)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "nested.keras")
    model.save(path)
    k = keras.models.load_model(path)
    assert type(k.layers[0]).__name__ == "Sequential"
    np.testing.assert_allclose(k.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    again = mg.models.load_model(path)
    assert again.layers[0].layers[0].padding == "causal"
    np.testing.assert_array_equal(again.predict(x, verbose=0), expected)
    # a model Keras compiled and trained: its optimizer state in the file is ignored
    k.compile(optimizer="adam", loss="mse")
    k.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    trained = str(tmp_path / "trained.keras")
    k.save(trained)
    back = mg.models.load_model(trained)
    np.testing.assert_allclose(back.predict(x, verbose=0), k.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
