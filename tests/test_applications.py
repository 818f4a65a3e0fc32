"""Reference architectures: structure, parameter counts and forward values against
``keras.applications`` (same weights -> same predictions), gradients through the skip
connections, the TCN's causality, argument errors."""
import numpy as np
import pytest
from conftest import keras_or_skip

import minigrad as mg
from minigrad import applications, layers

RNG = np.random.default_rng(0)


def fresh_keras():
    """Keras (or a skip), with both frameworks' name counters reset: automatic names
    ("dropout", "reshape_2") must not depend on what earlier tests built."""
    keras = keras_or_skip()
    keras.backend.clear_session()
    mg.clear_session()
    return keras


def same_predictions(ours, theirs, x, rtol=2e-4, atol=2e-5):
    """Copy Keras's weights into ours (checking the weight order by shape), compare."""
    weights = theirs.get_weights()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    # non-trivial BN statistics, so inference mode really uses them
    weights = [w if w.ndim != 1 else RNG.uniform(0.5, 1.5, w.shape).astype(w.dtype)
               for w in weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    import torch
    expected = theirs(torch.tensor(x), training=False).detach().numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("alpha, size", [(0.25, 32), (0.5, 48), (1.0, 32)])
def test_mobilenet_matches_keras(alpha, size):
    keras = fresh_keras()
    ours = applications.MobileNet(input_shape=(size, size, 3), alpha=alpha, classes=7)
    theirs = keras.applications.MobileNet(input_shape=(size, size, 3), alpha=alpha,
                                          classes=7, weights=None)
    assert ours.count_params() == theirs.count_params()
    assert [l.name for l in ours.layers][1:] == [l.name for l in theirs.layers][1:]
    if alpha == 0.25:
        same_predictions(ours, theirs, RNG.uniform(-1, 1, (2, size, size, 3)).astype("f4"))


@pytest.mark.parametrize("alpha, size", [(0.35, 32), (0.5, 48), (1.0, 32), (1.3, 32)])
def test_mobilenet_v2_matches_keras(alpha, size):
    keras = fresh_keras()
    ours = applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, classes=5)
    theirs = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha,
                                            classes=5, weights=None)
    assert ours.count_params() == theirs.count_params()
    assert [l.name for l in ours.layers][1:] == [l.name for l in theirs.layers][1:]
    if alpha == 0.35:
        same_predictions(ours, theirs, RNG.uniform(-1, 1, (2, size, size, 3)).astype("f4"))


def keras_mini_xception(keras):
    """``MiniXception((20, 20, 1), 4, (8, 12), (16, 24))`` written with Keras's layers."""
    K = keras.layers
    inputs = keras.Input((20, 20, 1))
    x = K.Activation("relu")(K.BatchNormalization()(K.Conv2D(8, 3, strides=2,
                                                             use_bias=False)(inputs)))
    x = K.Activation("relu")(K.BatchNormalization()(K.Conv2D(12, 3, use_bias=False)(x)))
    for i, f in enumerate((16, 24)):
        residual = K.BatchNormalization()(K.Conv2D(f, 1, strides=2, padding="same",
                                                   use_bias=False)(x))
        if i:
            x = K.Activation("relu")(x)
        x = K.BatchNormalization()(K.SeparableConv2D(f, 3, padding="same", use_bias=False)(x))
        x = K.Activation("relu")(x)
        x = K.BatchNormalization()(K.SeparableConv2D(f, 3, padding="same", use_bias=False)(x))
        x = K.MaxPooling2D(3, strides=2, padding="same")(x)
        x = K.Add()([x, residual])
    outputs = K.Dense(4, activation="softmax")(K.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


def mini_xception():
    return applications.MiniXception((20, 20, 1), classes=4, stem_filters=(8, 12),
                                     block_filters=(16, 24))


def test_mini_xception_matches_the_same_graph_in_keras():
    keras = fresh_keras()
    ours, theirs = mini_xception(), keras_mini_xception(keras)
    assert ours.count_params() == theirs.count_params()
    same_predictions(ours, theirs, RNG.uniform(-1, 1, (3, 20, 20, 1)).astype("f4"))


def test_mini_xception_training_gradients_match_keras():
    """Batch statistics in training mode, through the shortcut Adds, to every weight."""
    keras = fresh_keras()
    import torch
    ours, theirs = mini_xception(), keras_mini_xception(keras)
    weights = [RNG.normal(0, 0.3, w.shape).astype("f4") if w.ndim > 1
               else RNG.uniform(0.5, 1.5, w.shape).astype("f4") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    x = RNG.uniform(-1, 1, (4, 20, 20, 1)).astype("f4")
    probe = RNG.normal(size=(4, 4)).astype("f4")
    y_k = theirs(torch.tensor(x), training=True)
    (y_k * torch.tensor(probe)).sum().backward()
    grads_k = [v.value.grad.numpy() for v in theirs.trainable_weights]
    with mg.GradientTape() as tape:
        loss = (ours(x, training=True) * probe).sum()
    grads_m = tape.gradient(loss, ours.trainable_weights)
    assert [g.shape for g in grads_m] == [g.shape for g in grads_k]
    for g_m, g_k in zip(grads_m, grads_k):
        np.testing.assert_allclose(g_m, g_k, rtol=2e-3, atol=2e-5)


def keras_tcn(keras):
    """``TCN((16, 2), filters=6, kernel_size=3, dilations=(1, 2, 4))`` in Keras, whose
    SeparableConv1D has no causal padding: ZeroPadding1D((2 d, 0)) + "valid" instead."""
    K = keras.layers
    inputs = keras.Input((16, 2))
    x = inputs
    for d in (1, 2, 4):
        y = K.ZeroPadding1D((2 * d, 0))(x)
        y = K.SeparableConv1D(6, 3, dilation_rate=d, activation="relu")(y)
        y = K.SeparableConv1D(6, 3, dilation_rate=d)(K.ZeroPadding1D((2 * d, 0))(y))
        shortcut = K.Conv1D(6, 1)(x) if x.shape[-1] != 6 else x
        x = K.ReLU()(K.Add()([y, shortcut]))
    outputs = K.Dense(1)(K.Flatten()(K.Cropping1D((15, 0))(x)))
    return keras.Model(inputs, outputs)


def tcn_pair(keras):
    ours = applications.TCN((16, 2), filters=6, kernel_size=3, dilations=(1, 2, 4))
    theirs = keras_tcn(keras)
    assert ours.count_params() == theirs.count_params()
    weights = [RNG.normal(0, 0.5, w.shape).astype("f4") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


def test_tcn_matches_keras_with_causal_as_left_padding():
    keras = fresh_keras()
    import torch
    ours, theirs = tcn_pair(keras)
    x = RNG.normal(size=(4, 16, 2)).astype("f4")
    np.testing.assert_allclose(ours.predict(x, verbose=0),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_tcn_fit_ends_with_keras_weights():
    keras = fresh_keras()
    from minigrad import optimizers
    ours, theirs = tcn_pair(keras)
    x = RNG.normal(size=(24, 16, 2)).astype("f4")
    y = RNG.normal(size=(24, 1)).astype("f4")
    ours.compile(optimizer=optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for w_ours, w_theirs in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-4, atol=1e-5)


def test_mobilenet_v2_structure_without_keras():
    model = applications.MobileNetV2(input_shape=(32, 32, 1), alpha=0.35, classes=10)
    names = [l.name for l in model.layers]
    adds = [n for n in names if n.endswith("_add")]
    # stride-1 blocks whose channels agree get a skip: 2, 4, 5, 7, 8, 9, 11, 12, 14, 15
    assert adds == [f"block_{i}_add" for i in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)]
    pads = [n for n in names if n.endswith("_pad")]
    assert pads == [f"block_{i}_pad" for i in (1, 3, 6, 13)]
    assert model.output_shape == (None, 10) if hasattr(model, "output_shape") else True
    y = model.predict(RNG.uniform(size=(2, 32, 32, 1)).astype("f4"), verbose=0)
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-5)
    assert applications.make_divisible(32 * 0.35) == 16
    assert applications.make_divisible(24 * 0.35) == 8


def test_gradient_reaches_the_input_through_the_skip_connections():
    """With every convolution of the residual branches zeroed, the blocks pass their
    input on through the Add alone, and the input still gets a gradient."""
    model = applications.TCN((12, 4), filters=4, dilations=(1, 2))
    for layer in model.layers:
        if isinstance(layer, layers.SeparableConv1D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = mg.Tensor(RNG.uniform(0.5, 1.5, size=(2, 12, 4)).astype("f4"))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = model(x).sum()
    ops_by_layer = {(e.op, e.layer) for e in tape}
    g = tape.gradient(y, x).numpy()
    dense = model.layers[-1].get_weights()[0][:, 0]
    np.testing.assert_allclose(g[:, -1], np.broadcast_to(dense, (2, 4)), rtol=1e-6)
    assert not g[:, :-1].any()                      # the last step only: Cropping1D
    assert ("add", "tcn_block_d1_add") in ops_by_layer
    assert ("add", "tcn_block_d2_add") in ops_by_layer


def test_tcn_is_causal():
    model = applications.TCN((20, 1), filters=4, kernel_size=2, dilations=(1, 2, 4),
                             return_sequences=True)
    x = RNG.normal(size=(1, 20, 1)).astype("f4")
    changed = x.copy()
    changed[0, 12:] += 5.0                                # change the future from step 12
    a, b = model.predict(x, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_array_equal(a[0, :12], b[0, :12])   # the past does not see it
    assert not np.allclose(a[0, 12:], b[0, 12:])


def test_argument_errors():
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV2(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="alpha=0"):
        applications.MobileNet(input_shape=(32, 32, 3), alpha=0)
    with pytest.raises(ValueError, match="ImageNet weights are not available"):
        applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=2,
                                 weights="imagenet")
    with pytest.raises(ValueError, match="dilations"):
        applications.TCN((10, 1), dilations=())
    with pytest.raises(ValueError, match="input_shape` must be \\(steps, features\\)"):
        applications.TCN((10,))
    with pytest.raises(ValueError, match="stem_filters"):
        applications.MiniXception(stem_filters=(8,))
