"""Keras's HDF5 weights layout (``.weights.h5``): both directions with Keras, checked
loading, and the group names Keras uses."""
import os

import numpy as np
import pytest
from conftest import import_keras

import minigrad as mg
from minigrad import layers

h5py = pytest.importorskip("h5py")
keras, KERAS_MISSING = import_keras()
needs_keras = pytest.mark.skipif(keras is None, reason=str(KERAS_MISSING))
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def model():
    return mg.Sequential([mg.Input((9, 3)),
                          layers.SeparableConv1D(4, 3, padding="causal", dilation_rate=2),
                          layers.BatchNormalization(), layers.Dense(4),
                          layers.DepthwiseConv1D(2), layers.Flatten(), layers.Dense(2)])


def keras_model():
    return keras.Sequential([keras.Input((9, 3)), keras.layers.ZeroPadding1D((4, 0)),
                             keras.layers.SeparableConv1D(4, 3, dilation_rate=2),
                             keras.layers.BatchNormalization(), keras.layers.Dense(4),
                             keras.layers.DepthwiseConv1D(2), keras.layers.Flatten(),
                             keras.layers.Dense(2)])


def randomized(m):
    rng = np.random.default_rng(5)
    m.set_weights([np.abs(rng.normal(size=w.shape)).astype(w.dtype) + 0.1 for w in m.weights])
    return m


def test_groups_follow_keras_names_and_positions(tmp_path):
    m = randomized(model())
    path = tmp_path / "w.weights.h5"
    m.save_weights(path)
    with h5py.File(path, "r") as h5:
        groups = sorted(name for name in h5["layers"])
        np.testing.assert_array_equal(h5["layers/dense_1/vars/0"][()],
                                      m.layers[-1].kernel.numpy())
        np.testing.assert_array_equal(h5["layers/separable_conv1d/vars/1"][()],
                                      m.layers[0].pointwise_kernel.numpy())
        assert len(h5["layers/zero_padding1d/vars"]) == 0
        assert h5["layers/batch_normalization/vars"].attrs["name"] == "batch_normalization"
    assert groups == ["batch_normalization", "dense", "dense_1", "depthwise_conv1d",
                      "flatten", "separable_conv1d", "zero_padding1d"]
    other = model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_keras
def test_both_directions_with_keras(tmp_path):
    m = randomized(model())
    k = keras_model()
    path = str(tmp_path / "mg.weights.h5")
    m.save_weights(path)
    k.load_weights(path)
    for a, b in zip(k.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(2, 9, 3)).astype("float32")
    np.testing.assert_allclose(k.predict(x, verbose=0), m.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    k.set_weights([w * 2 for w in k.get_weights()])
    k_path = str(tmp_path / "k.weights.h5")
    k.save_weights(k_path)
    m.load_weights(k_path)
    for a, b in zip(k.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_misfit_and_malformed_files_change_nothing(tmp_path):
    m = randomized(model())
    before = m.get_weights()
    other = tmp_path / "other.weights.h5"
    mg.Sequential([mg.Input((9, 3)), layers.SeparableConv1D(5, 3), layers.Flatten(),
                   layers.Dense(2)]).save_weights(other)
    bigger = tmp_path / "bigger.weights.h5"
    mg.Sequential([mg.Input((9, 3)), layers.SeparableConv1D(4, 3, padding="causal",
                                                            dilation_rate=2),
                   layers.BatchNormalization(), layers.Dense(4), layers.DepthwiseConv1D(2),
                   layers.Flatten(), layers.Dense(2), layers.Dense(3)]).save_weights(bigger)
    text = tmp_path / "text.weights.h5"
    text.write_text("not hdf5")
    good = tmp_path / "good.weights.h5"
    m.save_weights(good)
    truncated = tmp_path / "truncated.weights.h5"
    truncated.write_bytes(good.read_bytes()[:1000])
    for bad in (other, bigger, text, truncated):
        with pytest.raises(ValueError) as info:
            m.load_weights(bad)
        assert repr(str(bad)) in str(info.value)
        for a, b in zip(m.get_weights(), before):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="by_name"):
        m.load_weights(good, by_name=True)


def test_without_h5py_the_error_names_the_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "h5py", None)      # import h5py -> ImportError
    with pytest.raises(ImportError, match=r"minigrad-edu\[interop\]"):
        model().save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ImportError, match=r"minigrad-edu\[interop\]"):
        model().save(tmp_path / "net.keras")
    assert os.listdir(tmp_path) == []
    model().save_weights(tmp_path / "w.npz")             # .npz needs nothing more


def test_links_to_other_files_are_refused(tmp_path):
    secret = tmp_path / "elsewhere.h5"
    with h5py.File(secret, "w") as h5:
        h5["vars/0"] = np.ones((4, 3), "float32")
    m = mg.Sequential([mg.Input((4,)), layers.Dense(3, use_bias=False)])
    good = tmp_path / "w.weights.h5"
    m.save_weights(good)
    before = m.get_weights()
    for kind in ("external", "soft", "virtual"):
        bad = tmp_path / f"{kind}.weights.h5"
        with h5py.File(good, "r") as src, h5py.File(bad, "w") as h5:
            src.copy("vars", h5)
            h5.create_group("layers")
            if kind == "external":
                h5["layers/dense"] = h5py.ExternalLink(str(secret), "/")
            elif kind == "soft":
                h5.create_group("stash/vars").create_dataset("0", data=np.ones((4, 3), "f4"))
                h5["layers/dense"] = h5py.SoftLink("/stash")
            else:
                layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
                layout[:] = h5py.VirtualSource(str(secret), "vars/0", shape=(4, 3))
                h5.create_group("layers/dense/vars").create_virtual_dataset("0", layout)
        with pytest.raises(ValueError, match="outside itself") as info:
            m.load_weights(bad)
        assert repr(str(bad)) in str(info.value)
        np.testing.assert_array_equal(m.get_weights()[0], before[0])


def test_weights_to_a_keras_name_point_to_save(tmp_path):
    with pytest.raises(ValueError, match=r"model\.save"):
        model().save_weights(tmp_path / "w.keras")
    assert os.listdir(tmp_path) == []
