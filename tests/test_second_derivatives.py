"""Second derivatives of every differentiable op and layer: the tape's gradient of a
gradient (an outer tape recording an inner tape's gradient computation) against central
differences of the tape's gradients, in float64 (``mg.gradgradcheck``); Hessian-vector
products against finite differences and their symmetry ``v.(H w) == w.(H v)``."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels, ops

FAST = settings(max_examples=8, deadline=None)

# the compiled kernels only where they are built (a no-compiler install runs the twins)
BACKENDS = (["cython"] if _kernels.compiled is not None else []) + ["numpy"]


def away_from_zero(rng, shape, low=0.3, high=1.5):
    """Non-uniform values whose magnitude stays away from kinks at 0."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


# ------------------------------------------------------------------------- arithmetic
@FAST
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_binary_arithmetic_with_broadcasting(shape, seed):
    rng = np.random.default_rng(seed)
    a = away_from_zero(rng, shape)
    b = away_from_zero(rng, shape[-1:])                 # broadcast along the leading axes
    mg.gradgradcheck(lambda x, y: x * y + x / y - y * x * x, [a, b])
    mg.gradgradcheck(lambda x, y: ops.power(ops.abs(x) + 0.5, y) + ops.maximum(x, y)
                     * ops.minimum(x, y), [a, b])


@FAST
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 3),
       seed=st.integers(0, 2**31))
def test_matmul_all_ranks(n, k, m, seed):
    rng = np.random.default_rng(seed)
    A, B, v = rng.normal(size=(2, n, k)), rng.normal(size=(k, m)), rng.normal(size=k)
    mg.gradgradcheck(lambda a, b: ops.tanh(a @ b), [A, B])
    mg.gradgradcheck(lambda a, u: ops.tanh(a @ u) * (u @ u), [A, v])


def test_elementwise_maths():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.4, 2.0, size=(3, 2))
    for fn in (ops.exp, ops.log, ops.sqrt, ops.square, ops.erf, ops.negative,
               lambda t: ops.clip(t, 0.5, 1.5) * t, lambda t: ops.abs(t - 1.0) * t,
               lambda t: ops.cast(t, "float64") * t):
        mg.gradgradcheck(lambda t: fn(t) * t, [x])


# ------------------------------------------------------------------------- reductions, shapes
@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple),
       seed=st.integers(0, 2**31), keepdims=st.booleans())
def test_reductions(shape, seed, keepdims):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    axis = int(rng.integers(-len(shape), len(shape)))
    for reduce in (ops.sum, ops.mean, ops.max, ops.min):
        mg.gradgradcheck(lambda t: ops.tanh(reduce(t * t, axis=axis, keepdims=keepdims)) * 2
                         + reduce(t, None) ** 2, [x])


def test_shape_ops_indexing_pad_concatenate_stack_where():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 1, 4))
    cube = lambda t: t * t * t                                               # noqa: E731
    mg.gradgradcheck(lambda t: cube(ops.reshape(t, (4, 6))), [x])
    mg.gradgradcheck(lambda t: cube(ops.transpose(t, (2, 0, 1))), [x])
    mg.gradgradcheck(lambda t: cube(t.T), [x])
    mg.gradgradcheck(lambda t: cube(t[:, 1:, ::2]), [x])
    mg.gradgradcheck(lambda t: cube(t[[0, 1, 1], [2, 0, 2]]), [x])     # repeats add up
    mg.gradgradcheck(lambda t: cube(ops.pad(t, ((0, 1), (2, 0), (1, 1)))), [x])
    mg.gradgradcheck(lambda a, b: cube(ops.concatenate([a, b, a], axis=-2)), [x, y])
    mg.gradgradcheck(lambda a, b: cube(ops.stack([a, a * b], axis=1)), [x, y])
    mg.gradgradcheck(lambda a, b: cube(ops.where(x > 0, a, b)), [x, y])
    mg.gradgradcheck(lambda t: cube(ops.broadcast_to(t, (3, 2, 1, 4))), [y])


# ------------------------------------------------------------------------- activations
ACTIVATIONS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softplus", "softsign",
               "swish", "elu", "selu", "gelu", "exponential", "hard_sigmoid", "softmax",
               "log_softmax", "mish", "log_sigmoid"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name):
    x = away_from_zero(np.random.default_rng(3), (2, 3), 0.2, 2.0)
    x[0, 0] = 4.5                                  # the far side of relu6 / hard_sigmoid
    fn = getattr(ops, name)
    # times x: the second derivative of a piecewise-linear function is 0, this is not.
    mg.gradgradcheck(lambda t: fn(t) * t, [x])


def test_gelu_approximate():
    x = np.random.default_rng(4).normal(size=(5,))
    mg.gradgradcheck(lambda t: ops.gelu(t, approximate=True), [x])


# ------------------------------------------------------------------------- helpers
def test_hessian_of_a_cubic_matches_the_formula():
    x = np.array([0.5, -1.0, 2.0])
    A = np.random.default_rng(5).normal(size=(3, 3))

    def f(t):
        return (t * t * t).sum() + (t @ (A @ t)) * 0.5
    H = mg.hessian(f, x).numpy()
    np.testing.assert_allclose(H, np.diag(6 * x) + (A + A.T) / 2, rtol=1e-12, atol=1e-12)


@FAST
@given(n=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_hvp_is_symmetric_and_matches_finite_differences(n, seed):
    rng = np.random.default_rng(seed)
    x, v, w = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)

    def f(t):
        return ops.log_softmax(ops.tanh(t) * t).sum() * ops.sigmoid(t).mean()
    Hv, Hw = mg.hvp(f, x, v).numpy(), mg.hvp(f, x, w).numpy()
    np.testing.assert_allclose(v @ Hw, w @ Hv, rtol=1e-10, atol=1e-12)

    def grad(at):
        t = mg.Tensor(at)
        with mg.GradientTape() as tape:
            tape.watch(t)
            y = f(t)
        return tape.gradient(y, t).numpy()
    eps = 1e-6
    numeric = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(Hv, numeric, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------- pooling, normalization
@FAST
@given(mode=st.sampled_from(["max", "average"]), padding=st.sampled_from(["valid", "same"]),
       k=st.integers(1, 3), s=st.integers(1, 3), rank=st.sampled_from([1, 2]),
       channels_first=st.booleans(), seed=st.integers(0, 2**31))
def test_pooling(mode, padding, k, s, rank, channels_first, seed):
    rng = np.random.default_rng(seed)
    spatial = (5,) * rank
    shape = (2, 3) + spatial if channels_first else (2,) + spatial + (3,)
    x = rng.permutation(np.linspace(0.1, 2, int(np.prod(shape)))).reshape(shape)  # no ties
    fmt = "channels_first" if channels_first else "channels_last"
    mg.gradgradcheck(lambda t: ops.pool(t * t, (k,) * rank, (s,) * rank, padding, mode, fmt)
                     * ops.pool(t, (k,) * rank, (s,) * rank, padding, mode, fmt), [x])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm(training, affine):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 3, 2))
    gamma, beta = rng.uniform(0.5, 1.5, size=2), rng.normal(size=2)
    mean, var = rng.normal(size=2), rng.uniform(0.5, 1.5, size=2)
    if affine:
        def fn(t, g, b):
            y, _, _ = ops.batch_norm(t, mean, var, g, b, 1e-3, -1, training)
            return y * y * t
        mg.gradgradcheck(fn, [x, gamma, beta])
    else:
        def fn(t):
            y, _, _ = ops.batch_norm(t, mean, var, None, None, 1e-3, -1, training)
            return ops.tanh(y) * t
        mg.gradgradcheck(fn, [x])


def test_dropout_sparsemax_sigmoid_cross_entropy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 4))
    mg.gradgradcheck(lambda t: ops.dropout(t * t, 0.5, np.random.default_rng(0)) * t, [x])
    mg.gradgradcheck(lambda t: ops.sparsemax(t * 2, axis=-1) * t, [x])
    labels = rng.uniform(size=(3, 4))
    mg.gradgradcheck(lambda t: ops.sigmoid_cross_entropy_with_logits(labels, t), [x])


@pytest.mark.parametrize("loss", ["mean_squared_error", "mean_absolute_error", "huber",
                                  "binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_losses(loss, from_logits):
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(4, 3))
    if loss == "sparse_categorical_crossentropy":
        y_true = np.array([0, 2, 1, 2])
    elif loss == "categorical_crossentropy":
        y_true = np.eye(3)[[0, 2, 1, 2]] * 0.8 + 0.2 / 3
    else:
        y_true = rng.uniform(size=(4, 3))
    fn = getattr(mg.losses, loss)                  # the function form: one value per sample
    if "crossentropy" in loss:
        squash = ops.sigmoid if loss == "binary_crossentropy" else ops.softmax
        if from_logits:
            mg.gradgradcheck(lambda t: fn(y_true, t * t, from_logits=True), [logits])
        else:
            mg.gradgradcheck(lambda t: fn(y_true, squash(t * t)), [logits])
    elif not from_logits:
        mg.gradgradcheck(lambda t: fn(y_true, t * t), [logits])


# ------------------------------------------------------------------------- convolutions
@st.composite
def conv_arguments(draw):
    rank = draw(st.sampled_from([1, 2]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] if rank == 1 else [])))
    spatial = tuple(draw(st.integers(max(kk, (kk - 1) * d + 1), 5))
                    for kk, d in zip(k, dilation))
    return dict(rank=rank, k=k, strides=strides, dilation=dilation, padding=padding,
                spatial=spatial, C=draw(st.integers(1, 2)), M=draw(st.integers(1, 2)),
                F=draw(st.integers(1, 2)), channels_first=draw(st.booleans()),
                backend=draw(st.sampled_from(BACKENDS)))


def _conv_inputs(a, seed, kernel_last):
    rng = np.random.default_rng(seed)
    shape = ((1, a["C"]) + a["spatial"]) if a["channels_first"] else \
        ((1,) + a["spatial"] + (a["C"],))
    return rng.normal(size=shape), rng.normal(size=a["k"] + (a["C"], kernel_last))


def _options(a):
    return dict(strides=a["strides"], padding=a["padding"], dilation_rate=a["dilation"],
                data_format="channels_first" if a["channels_first"] else "channels_last")


@settings(max_examples=10, deadline=None)
@given(a=conv_arguments(), seed=st.integers(0, 2**31))
def test_depthwise_conv(a, seed):
    x, k = _conv_inputs(a, seed, a["M"])
    with ops.convolution.use_kernels(a["backend"]):
        # y * y: the second derivative of a bilinear op alone would only test cross terms
        mg.gradgradcheck(lambda t, w: ops.depthwise_conv(t, w, **_options(a)) ** 2, [x, k])


@settings(max_examples=10, deadline=None)
@given(a=conv_arguments(), seed=st.integers(0, 2**31), with_bias=st.booleans())
def test_separable_conv(a, seed, with_bias):
    x, dk = _conv_inputs(a, seed, a["M"])
    rng = np.random.default_rng(seed + 1)
    pk = rng.normal(size=(1,) * a["rank"] + (a["C"] * a["M"], a["F"]))
    bias = rng.normal(size=a["F"])
    with ops.convolution.use_kernels(a["backend"]):
        if with_bias:
            mg.gradgradcheck(lambda t, d, p, b: ops.separable_conv(
                t, d, p, bias=b, **_options(a)) ** 2, [x, dk, pk, bias])
        else:
            mg.gradgradcheck(lambda t, d, p: ops.separable_conv(t, d, p, **_options(a)) ** 2,
                             [x, dk, pk])


@settings(max_examples=10, deadline=None)
@given(a=conv_arguments(), seed=st.integers(0, 2**31), with_bias=st.booleans(),
       pointwise=st.booleans())
def test_full_conv(a, seed, with_bias, pointwise):
    if pointwise:                             # the 1x1, stride 1, unpadded special case
        a = dict(a, k=(1,) * a["rank"], strides=(1,) * a["rank"], padding="valid")
    x, k = _conv_inputs(a, seed, a["F"])
    bias = np.random.default_rng(seed + 2).normal(size=a["F"])
    with ops.convolution.use_kernels(a["backend"]):
        if with_bias:
            mg.gradgradcheck(lambda t, w, b: ops.conv(t, w, bias=b, **_options(a)) ** 2,
                             [x, k, bias])
        else:
            mg.gradgradcheck(lambda t, w: ops.conv(t, w, **_options(a)) ** 2, [x, k])


def test_third_derivative_of_a_depthwise_conv_stays_in_the_family():
    """Three nested tapes: d/dx of (d/dx of (d/dx of sum(conv(x)^3))) . v, against
    finite differences of the second derivative; every op recorded is a family member."""
    rng = np.random.default_rng(9)
    x0, k = rng.normal(size=(1, 5, 2)), mg.Tensor(rng.normal(size=(3, 2, 1)))
    v = rng.normal(size=x0.shape)

    def second(at):
        x = mg.Tensor(at)
        with mg.GradientTape() as t2:
            t2.watch(x)
            with mg.GradientTape() as t1:
                t1.watch(x)
                y = (ops.depthwise_conv(x, k, padding="same") ** 3).sum()
            gv = (t1.gradient(y, x) * v).sum()
        return t2.gradient(gv, x)

    x = mg.Tensor(x0)
    with mg.GradientTape() as t3:
        t3.watch(x)
        with mg.GradientTape() as t2:
            t2.watch(x)
            with mg.GradientTape() as t1:
                t1.watch(x)
                y = (ops.depthwise_conv(x, k, padding="same") ** 3).sum()
            gv = (t1.gradient(y, x) * v).sum()
        h = t2.gradient(gv, x)
        hv = (h * v).sum()
    ops_recorded = {e.op for e in t3}
    third = t3.gradient(hv, x).numpy()
    eps = 1e-5
    numeric = ((second(x0 + eps * v).numpy() - second(x0 - eps * v).numpy()) / (2 * eps))
    np.testing.assert_allclose(third, numeric, rtol=1e-5, atol=1e-8)
    assert {"depthwise_input_grad", "depthwise_conv"} <= ops_recorded


# ------------------------------------------------------------------------- whole models
def _small_model():
    from minigrad import layers
    mg.set_random_seed(3)
    model = mg.Sequential([
        layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2, activation="tanh",
                               dtype="float64"),
        layers.MaxPooling1D(2, dtype="float64"),
        layers.Flatten(dtype="float64"),
        layers.Dense(3, activation="tanh", dtype="float64"),
    ])
    x = np.random.default_rng(10).normal(size=(4, 6, 2))
    model(x)
    return model, x


def _model_loss(model, x, y):
    return ((model(x) - y) ** 2).mean()


def test_hvp_through_a_whole_model_agrees_with_pytorch_double_backward():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    model, x = _small_model()
    y = np.random.default_rng(11).normal(size=(4, 3))
    weights = model.trainable_weights
    rng = np.random.default_rng(12)
    v = [rng.normal(size=w.shape) for w in weights]
    with mg.GradientTape() as outer:
        with mg.GradientTape() as inner:
            loss = _model_loss(model, x, y)
        grads = inner.gradient(loss, weights)
        gv = sum((g * vi).sum() for g, vi in zip(grads, v))
    hv = [h.numpy() for h in outer.gradient(gv, weights)]

    dk, pk, pb, W, b = [torch.tensor(w.numpy(), requires_grad=True) for w in weights]
    C, M = dk.shape[1], dk.shape[2]

    def torch_loss():
        t = torch.tensor(x).permute(0, 2, 1)                               # (N, C, L)
        depthwise = dk.permute(1, 2, 0).reshape(C * M, 1, dk.shape[0])     # channel c*M+m
        z = F.conv1d(t, depthwise, padding=1, groups=C)
        z = F.conv1d(z, pk[0].T.unsqueeze(-1), bias=pb).tanh()
        z = F.max_pool1d(z, 2).permute(0, 2, 1).reshape(x.shape[0], -1)
        return ((torch.tanh(z @ W + b) - torch.tensor(y)) ** 2).mean()
    params = [dk, pk, pb, W, b]
    loss_t = torch_loss()
    np.testing.assert_allclose(loss_t.item(), float(loss.data), rtol=1e-7)
    g_t = torch.autograd.grad(loss_t, params, create_graph=True)
    gv_t = sum((g * torch.tensor(vi)).sum() for g, vi in zip(g_t, v))
    hv_t = torch.autograd.grad(gv_t, params)
    for mine, theirs in zip(hv, hv_t):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-6, atol=1e-9)


def test_layers_are_second_differentiable():
    from minigrad import layers
    rng = np.random.default_rng(13)
    x = rng.normal(size=(3, 5, 2))
    for layer in [layers.Dense(2, activation="gelu", dtype="float64"),
                  layers.Conv1D(2, 3, padding="causal", activation="swish", dtype="float64"),
                  layers.DepthwiseConv1D(2, strides=2, activation="tanh", dtype="float64"),
                  layers.BatchNormalization(dtype="float64"),
                  layers.AveragePooling1D(2, padding="same", dtype="float64"),
                  layers.GlobalMaxPooling1D(dtype="float64"),
                  layers.LayerNormalization(dtype="float64")]:
        layer(x)
        for training in (True, False):
            mg.gradgradcheck(lambda t, w: layer(t, training=training) ** 2,
                             [x, layer.trainable_weights[0]] if layer.trainable_weights
                             else [x, np.zeros(1)])
    image = rng.normal(size=(2, 4, 4, 2))
    sep = layers.SeparableConv2D(2, (2, 2), dilation_rate=(1, 2), activation="elu",
                                 dtype="float64")
    sep(image)
    mg.gradgradcheck(lambda t, dk: sep(t) ** 2, [image, sep.depthwise_kernel])


def test_gradient_penalty_training_step_lowers_the_penalised_loss():
    """A WGAN-GP-like step: loss + (||d loss / d x|| - 1)^2, trained through both tapes."""
    model, x = _small_model()
    y = np.random.default_rng(14).normal(size=(4, 3))
    opt = mg.optimizers.SGD(0.05)
    xt = mg.Tensor(x)

    def penalised():
        with mg.GradientTape() as outer:
            with mg.GradientTape() as inner:
                inner.watch(xt)
                loss = _model_loss(model, xt, y)
            gx = inner.gradient(loss, xt)
            total = loss + (ops.sqrt((gx * gx).sum()) - 1.0) ** 2
        return total, outer.gradient(total, model.trainable_weights)
    first, grads = penalised()
    assert all(g is not None for g in grads)
    for _ in range(5):
        opt.apply_gradients(zip(grads, model.trainable_weights))
        last, grads = penalised()
    assert float(last.data) < float(first.data)
