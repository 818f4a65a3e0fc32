"""ONNX export: onnx.checker passes, and onnxruntime and onnx's reference evaluator give
minigrad's predictions for the whole family and the layers around it."""
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import layers

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402

try:
    import onnxruntime as ort
except ImportError:                             # the reference evaluator still checks
    ort = None


@pytest.fixture(autouse=True)
def _fresh():
    mg.clear_session()
    mg.set_random_seed(0)


def cases():
    out = []
    for padding in ("valid", "same", "causal"):
        for dm in (1, 2):
            out.append(("sep1d", lambda p=padding, m=dm: [layers.SeparableConv1D(
                4, 3, padding=p, depth_multiplier=m, dilation_rate=2, activation="relu")],
                (11, 3)))
            out.append(("dw1d", lambda p=padding, m=dm: [layers.DepthwiseConv1D(
                3, strides=2, padding=p, depth_multiplier=m, activation="gelu")], (11, 3)))
    for padding in ("valid", "same"):
        for fmt in ("channels_last", "channels_first"):
            shape = (9, 8, 3) if fmt == "channels_last" else (3, 9, 8)
            out.append(("sep2d", lambda p=padding, f=fmt: [layers.SeparableConv2D(
                5, (3, 2), strides=(2, 1), padding=p, data_format=f, depth_multiplier=2,
                activation="swish"), layers.MaxPooling2D(2, padding=p, data_format=f),
                layers.BatchNormalization(axis=1 if f == "channels_first" else -1)], shape))
            out.append(("dw2d", lambda p=padding, f=fmt: [layers.DepthwiseConv2D(
                (2, 3), padding=p, data_format=f, dilation_rate=(2, 1), use_bias=False),
                layers.AveragePooling2D(3, strides=2, padding=p, data_format=f),
                layers.Flatten(data_format=f)], shape))
    out.append(("mixed", lambda: [
        layers.Conv2D(4, 3, padding="same", activation="relu6"),
        layers.ZeroPadding2D(((1, 0), (0, 2))), layers.BatchNormalization(),
        layers.ReLU(max_value=6.0), layers.DepthwiseConv2D(3, activation="elu"),
        layers.Dropout(0.5), layers.Rescaling(0.5, offset=0.1), layers.LeakyReLU(0.1),
        layers.GlobalMaxPooling2D(keepdims=True), layers.Reshape((-1,)),
        layers.Dense(6, activation="tanh"), layers.Dense(3), layers.Softmax()],
        (8, 8, 2)))
    out.append(("reshaping", lambda: [
        layers.Cropping2D(((1, 0), (0, 2))), layers.UpSampling2D((2, 1)),
        layers.SeparableConv2D(3, 3, data_format="channels_last"),
        layers.LayerNormalization(axis=[1, 2, 3]), layers.Reshape((-1, 3)),
        layers.UpSampling1D(2), layers.Cropping1D((1, 2)), layers.LayerNormalization()],
        (7, 8, 2)))
    out.append(("timeseries", lambda: [
        layers.SeparableConv1D(6, 2, padding="causal", dilation_rate=4, activation="relu"),
        layers.Conv1D(4, 3, padding="same", activation="sigmoid"),
        layers.GlobalAveragePooling1D(), layers.Dense(1)], (None, 2)))
    return out


CASES = cases()


@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_export_agrees_with_minigrad(tmp_path, case):
    _, factory, shape = CASES[case]
    model = mg.Sequential([mg.Input(shape)] + factory())
    rng = np.random.default_rng(case)
    model.set_weights([(np.abs(rng.normal(size=w.shape)) + 0.1).astype(w.dtype)
                       for w in model.weights])
    path = str(tmp_path / "net.onnx")
    assert model.export(path, format="onnx") == path
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    assert all(a.name != "auto_pad" for n in proto.graph.node for a in n.attribute)
    names = {n.name.split("/")[0] for n in proto.graph.node}
    assert {l.name for l in model.layers} <= names | {l.name for l in model.layers
                                                      if type(l).__name__ == "Activation"}
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert [d.dim_value or None for d in dims[1:]] == list(shape)
    for batch in (1, 3):                            # the batch axis is dynamic
        full = tuple(9 if s is None else s for s in shape)
        x = rng.normal(size=(batch,) + full).astype("float32")
        expected = model.predict(x, verbose=0)
        feeds = {proto.graph.input[0].name: x}
        got = ReferenceEvaluator(proto).run(None, feeds)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        if ort is not None:
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            got = session.run(None, feeds)[0]
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_depthwise_weight_keeps_keras_channel_order(tmp_path):
    layer = layers.DepthwiseConv1D(1, depth_multiplier=3, use_bias=False)
    model = mg.Sequential([mg.Input((4, 2)), layer])
    kernel = np.arange(6, dtype="float32").reshape(1, 2, 3) + 1    # (k, C, M)
    layer.set_weights([kernel])
    proto = model.export(tmp_path / "d.onnx") and onnx.load(tmp_path / "d.onnx")
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][0]
    assert {a.name: a.i for a in conv.attribute if a.name == "group"} == {"group": 2}
    weight = onnx.numpy_helper.to_array(
        [t for t in proto.graph.initializer if t.name == conv.input[1]][0])
    assert weight.shape == (6, 1, 1)
    np.testing.assert_array_equal(weight.ravel(), kernel[0].ravel())   # c*M + m


def test_unsupported_export_refused_without_a_file(tmp_path):
    class Odd(layers.Layer):
        def call(self, x):
            return x * 2

    model = mg.Sequential([mg.Input((6, 6, 2)), layers.ReLU(threshold=0.5)])
    with pytest.raises(ValueError, match="threshold"):
        model.export(tmp_path / "w.onnx")
    model = mg.Sequential([mg.Input((6, 6, 2)), Odd()])
    with pytest.raises(ValueError, match="Odd"):
        model.export(tmp_path / "x.onnx")
    strided_same = mg.Sequential([mg.Input((None, 2)),
                                  layers.SeparableConv1D(2, 3, strides=2, padding="same")])
    with pytest.raises(ValueError, match="fixed input size"):
        strided_same.export(tmp_path / "y.onnx")
    with pytest.raises(ValueError, match="format"):
        strided_same.export(tmp_path / "z.onnx", format="tflite")
    assert os.listdir(tmp_path) == []


def test_without_onnx_the_error_names_the_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"minigrad-edu\[interop\]"):
        mg.Sequential([mg.Input((3,)), layers.Dense(2)]).export(tmp_path / "n.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["SeparableConv1D", "DepthwiseConv1D", "SeparableConv2D",
                                  "DepthwiseConv2D"])
def test_family_geometry_drawn_at_random_agrees(tmp_path, kind):
    """Odd and even sizes, strides, dilations, every padding and both layouts: the
    explicit pads must reproduce minigrad's (Keras's) split exactly."""
    ort = pytest.importorskip("onnxruntime")
    from hypothesis import given, settings
    from hypothesis import strategies as st
    rank = 2 if kind.endswith("2D") else 1

    @settings(max_examples=8, deadline=None, derandomize=True)
    @given(st.data())
    def check(data):
        mg.clear_session()
        size = data.draw(st.lists(st.integers(4, 9), min_size=rank, max_size=rank))
        k = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
        paddings = ["valid", "same"] + (["causal"] if rank == 1 else [])
        padding = data.draw(st.sampled_from(paddings))
        strided = data.draw(st.booleans())
        s = data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)) \
            if strided else [1] * rank
        d = [1] * rank if strided else \
            data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
        fmt = data.draw(st.sampled_from(["channels_last", "channels_first"]))
        channels, dm = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        spans_fit = all((kk - 1) * dd + 1 <= n for kk, dd, n in zip(k, d, size))
        if padding == "valid" and not spans_fit:
            return
        args = dict(kernel_size=k, strides=s, padding=padding, dilation_rate=d,
                    data_format=fmt, depth_multiplier=dm)
        if kind.startswith("Separable"):
            args["filters"] = 2
        shape = tuple(size) + (channels,) if fmt == "channels_last" else \
            (channels,) + tuple(size)
        model = mg.Sequential([mg.Input(shape), getattr(layers, kind)(**args)])
        rng = np.random.default_rng(0)
        model.set_weights([rng.normal(size=w.shape).astype("float32")
                           for w in model.weights])
        x = rng.normal(size=(2,) + shape).astype("float32")
        path = str(tmp_path / "g.onnx")
        model.export(path)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)

    check()
