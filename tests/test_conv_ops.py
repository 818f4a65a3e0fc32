"""ops.depthwise_conv / separable_conv / conv: gradients, known answers, reference, errors.

* float64 central-difference gradient checks (``mg.gradcheck``) over Hypothesis-drawn
  arguments, on both kernel backends;
* hand-computed impulse responses and known outputs;
* the conformance matrix against float64 reference functions written from the formulas;
* channels_first == transposed channels_last; argument errors.
"""
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import reference_pads

import minigrad as mg
from minigrad import _kernels
from minigrad.ops.convolution import (conv, conv_output_length, conv_padding, depthwise_conv,
                               separable_conv, use_kernels)

BACKENDS = ["numpy"] + (["cython"] if _kernels.compiled is not None else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    with use_kernels(request.param):
        yield request.param


# ----------------------------------------------------------------------------------------
# The float64 reference (channels_last), from the formulas in the layers' docstring
# ----------------------------------------------------------------------------------------


def ref_depthwise(x, K, b, strides, padding, dil):
    r = K.ndim - 2
    ks = K.shape[:r]
    C, M = K.shape[r:]
    xp = np.pad(x, [(0, 0)] + [reference_pads(x.shape[1 + i], ks[i], strides[i], dil[i], padding)
                               for i in range(r)] + [(0, 0)])
    out_sz = [(xp.shape[1 + i] - (dil[i] * (ks[i] - 1) + 1)) // strides[i] + 1 for i in range(r)]
    y = np.zeros((x.shape[0], *out_sz, C * M))
    for o in np.ndindex(*out_sz):
        acc = np.zeros((x.shape[0], C, M))
        for j in np.ndindex(*ks):
            pos = tuple(o[i] * strides[i] + j[i] * dil[i] for i in range(r))
            acc += xp[(slice(None),) + pos][:, :, None] * K[j][None]
        y[(slice(None),) + o] = acc.reshape(x.shape[0], C * M)
    return y if b is None else y + b


def ref_separable(x, DK, PK, b, strides, padding, dil):
    z = ref_depthwise(x, DK, None, strides, padding, dil)
    y = z @ PK.reshape(PK.shape[-2], PK.shape[-1])
    return y if b is None else y + b


def ref_conv(x, K, b, strides, padding, dil):
    """Full convolution = depthwise with M = F followed by summing over input channels."""
    r = K.ndim - 2
    C, F = K.shape[r:]
    z = ref_depthwise(x, K, None, strides, padding, dil)          # channel c*F + f
    y = z.reshape(z.shape[:-1] + (C, F)).sum(axis=-2)
    return y if b is None else y + b


# ----------------------------------------------------------------------------------------
# Padding helpers
# ----------------------------------------------------------------------------------------

def test_conv_padding_rules():
    assert conv_padding(5, 4, 1, 1, "same") == (1, 2)
    assert conv_padding(5, 2, 1, 1, "same") == (0, 1)
    assert conv_padding(6, 3, 2, 1, "same") == (0, 1)
    assert conv_padding(10, 3, 1, 2, "same") == (2, 2)
    assert conv_padding(6, 3, 1, 2, "causal") == (4, 0)
    assert conv_padding(6, 3, 2, 1, "valid") == (0, 0)
    assert conv_padding(6, 3, 2, 1, (3, 1)) == (3, 1)
    for L, k, s, d in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(1, 3)):
        assert conv_output_length(L, k, s, d, "same") == -(-L // s)
        assert conv_output_length(L, k, s, d, "causal") == -(-L // s)
        assert conv_output_length(L, k, s, d, "valid") == (L - d * (k - 1) - 1) // s + 1
        assert conv_padding(L, k, s, d, "same") == reference_pads(L, k, s, d, "same")
    assert conv_output_length(None, 3, 1, 1, "same") is None
    with pytest.raises(ValueError, match="full"):
        conv_padding(5, 3, 1, 1, "full")


# ----------------------------------------------------------------------------------------
# Known answers, computed by hand
# ----------------------------------------------------------------------------------------

def _line(values):
    return np.asarray(values, dtype=np.float64).reshape(1, -1, 1)


def test_impulse_responses(backend):
    impulse = _line([1, 0, 0, 0, 0])
    taps4 = np.array([1, 10, 100, 1000.0]).reshape(4, 1, 1)
    y = depthwise_conv(impulse, taps4, padding="same")
    np.testing.assert_array_equal(y.numpy().ravel(), [10, 1, 0, 0, 0])   # left 1, right 2
    y = depthwise_conv(impulse, taps4[:2], padding="same")
    np.testing.assert_array_equal(y.numpy().ravel(), [1, 0, 0, 0, 0])    # left 0, right 1
    image = np.zeros((1, 4, 4, 1))
    image[0, 0, 0, 0] = 1
    taps = np.array([[1, 10], [100, 1000.0]]).reshape(2, 2, 1, 1)
    expected = np.zeros((4, 4))
    expected[0, 0] = 1                                                     # top/left pad 0
    np.testing.assert_array_equal(depthwise_conv(image, taps, padding="same").numpy()[0, :, :, 0],
                                  expected)


def test_known_outputs(backend):
    x = _line([1, 2, 3, 4, 5, 6])
    taps = np.array([1, 10, 100.0]).reshape(3, 1, 1)
    for op in (depthwise_conv, conv):
        np.testing.assert_array_equal(op(x, taps, strides=2, padding="same").numpy().ravel(),
                                      [321, 543, 65])
        np.testing.assert_array_equal(op(x, taps, padding="causal", dilation_rate=2).numpy().ravel(),
                                      [100, 200, 310, 420, 531, 642])
        np.testing.assert_array_equal(op(x, taps, strides=2, padding="causal").numpy().ravel(),
                                      [100, 321, 543])
    pointwise = np.ones((1, 1, 1))
    np.testing.assert_array_equal(
        separable_conv(x, taps, pointwise, strides=2, padding="same").numpy().ravel(), [321, 543, 65])


# ----------------------------------------------------------------------------------------
# The conformance matrix
# ----------------------------------------------------------------------------------------

def _matrix():
    for r, k, s, d, padding, L in itertools.product((1, 2), (1, 2, 3, 4), (1, 2, 3), (1, 2),
                                                    ("valid", "same"), (5, 6, 7)):
        ks = (k,) if r == 1 else (k, max(1, k - 1))
        yield r, ks, (s,) * r, (d,) * r, padding, ((L,) if r == 1 else (L, L + 1))


def test_conformance_matrix(backend):
    rng = np.random.default_rng(0)
    C, M, F = 3, 2, 4
    ran = raised = 0
    for r, ks, strides, dil, padding, spatial in _matrix():
        x = rng.standard_normal((2, *spatial, C))
        DK = rng.standard_normal((*ks, C, M))
        PK = rng.standard_normal((1,) * r + (C * M, F))
        b = rng.standard_normal(F)
        ek = [d * (k - 1) + 1 for k, d in zip(ks, dil)]
        if padding == "valid" and any(e > L for e, L in zip(ek, spatial)):
            with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
                depthwise_conv(x, DK, strides, padding, dilation_rate=dil)
            with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
                separable_conv(x, DK, PK, strides, padding, dilation_rate=dil)
            raised += 1
            continue
        ran += 1
        expected_dw = ref_depthwise(x, DK, None, strides, padding, dil)
        expected_sep = ref_separable(x, DK, PK, b, strides, padding, dil)
        out_shape = tuple(conv_output_length(L, k, s, d, padding)
                          for L, k, s, d in zip(spatial, ks, strides, dil))
        assert expected_dw.shape[1:-1] == out_shape
        y = depthwise_conv(x, DK, strides, padding, "channels_last", dil)
        np.testing.assert_allclose(y.numpy(), expected_dw, rtol=1e-10, atol=1e-10)
        y = separable_conv(x, DK, PK, strides, padding, "channels_last", dil, bias=b)
        np.testing.assert_allclose(y.numpy(), expected_sep, rtol=1e-10, atol=1e-10)
        # channels_first: transpose in, same maths, transpose out
        xf = np.moveaxis(x, -1, 1)
        y = depthwise_conv(xf, DK, strides, padding, "channels_first", dil)
        np.testing.assert_allclose(y.numpy(), np.moveaxis(expected_dw, -1, 1), rtol=1e-10, atol=1e-10)
        y = separable_conv(xf, DK, PK, strides, padding, "channels_first", dil, bias=b)
        np.testing.assert_allclose(y.numpy(), np.moveaxis(expected_sep, -1, 1), rtol=1e-10, atol=1e-10)
        y = conv(x, DK[..., :1].repeat(F, axis=-1) * rng.standard_normal(F), strides, padding,
                 dilation_rate=dil)
        assert y.shape == (2, *out_shape, F)
    # 288 configurations here; x 2 kinds x 2 data formats = 1152 configurations,
    # whose 48 erroring cases are these 12 (valid padding with ek > L) x 4
    assert raised == 12 and ran == 288 - 12


# ----------------------------------------------------------------------------------------
# Gradient checks (float64 central differences) over the argument space
# ----------------------------------------------------------------------------------------

@st.composite
def conv_args(draw):
    r = draw(st.integers(1, 2))
    ks = tuple(draw(st.integers(1, 3)) for _ in range(r))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(r))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(r))
    kinds = ["valid", "same", "explicit"] + (["causal"] if r == 1 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "explicit":
        padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(r))
    else:
        padding = kind
    spatial = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + (5 if r == 1 else 3)))
                    for k, d in zip(ks, dil))
    return dict(r=r, ks=ks, strides=strides, dilation_rate=dil, padding=padding, spatial=spatial,
                N=draw(st.integers(1, 2)), C=draw(st.integers(1, 3)), M=draw(st.integers(1, 2)),
                F=draw(st.integers(1, 3)), channels_first=draw(st.booleans()),
                with_bias=draw(st.booleans()), backend=draw(st.sampled_from(BACKENDS)))


GRAD_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inputs(a, seed, kernel_last):
    rng = np.random.default_rng(seed)
    spatial, C = a["spatial"], a["C"]
    shape = (a["N"], C, *spatial) if a["channels_first"] else (a["N"], *spatial, C)
    x = rng.uniform(-2, 2, shape)                       # non-uniform values, no symmetry
    kernel = rng.uniform(-2, 2, (*a["ks"], C, kernel_last))
    return rng, x, kernel


def _options(a):
    return dict(strides=a["strides"], padding=a["padding"], dilation_rate=a["dilation_rate"],
                data_format="channels_first" if a["channels_first"] else "channels_last")


@given(conv_args(), st.integers(0, 2**32 - 1))
@GRAD_SETTINGS
def test_gradcheck_depthwise(a, seed):
    _, x, kernel = _inputs(a, seed, a["M"])
    with use_kernels(a["backend"]):
        mg.gradcheck(lambda x, k: depthwise_conv(x, k, **_options(a)), [x, kernel])


@given(conv_args(), st.integers(0, 2**32 - 1))
@GRAD_SETTINGS
def test_gradcheck_separable(a, seed):
    rng, x, dk = _inputs(a, seed, a["M"])
    pk = rng.uniform(-2, 2, (1,) * a["r"] + (a["C"] * a["M"], a["F"]))
    with use_kernels(a["backend"]):
        if a["with_bias"]:
            b = rng.uniform(-2, 2, a["F"])
            mg.gradcheck(lambda x, k, p, b: separable_conv(x, k, p, bias=b, **_options(a)),
                         [x, dk, pk, b])
        else:
            mg.gradcheck(lambda x, k, p: separable_conv(x, k, p, **_options(a)), [x, dk, pk])


@given(conv_args(), st.integers(0, 2**32 - 1))
@GRAD_SETTINGS
def test_gradcheck_conv(a, seed):
    rng, x, kernel = _inputs(a, seed, a["F"])
    with use_kernels(a["backend"]):
        if a["with_bias"]:
            b = rng.uniform(-2, 2, a["F"])
            mg.gradcheck(lambda x, k, b: conv(x, k, bias=b, **_options(a)), [x, kernel, b])
        else:
            mg.gradcheck(lambda x, k: conv(x, k, **_options(a)), [x, kernel])


@given(conv_args(), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_conv_matches_reference(a, seed):
    rng, x, kernel = _inputs(a, seed, a["F"])
    if a["channels_first"]:
        x = np.moveaxis(x, 1, -1)
    opts = dict(_options(a), data_format="channels_last")
    padding = a["padding"]
    if not isinstance(padding, str):            # the reference takes strings; pre-pad instead
        x_ref = np.pad(x, [(0, 0), *padding, (0, 0)])
        padding_ref = "valid"
    else:
        x_ref, padding_ref = x, padding
    b = rng.standard_normal(a["F"])
    expected = ref_conv(x_ref, kernel, b, a["strides"], padding_ref, a["dilation_rate"])
    with use_kernels(a["backend"]):
        np.testing.assert_allclose(conv(x, kernel, bias=b, **opts).numpy(), expected,
                                   rtol=1e-10, atol=1e-10)


@given(conv_args(), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_conv_of_one_channel_runs_as_depthwise_and_matches_reference(a, seed):
    # Without a bias, one input channel goes to the depthwise kernels (M = F); with a zero
    # bias the same call takes the product path. Both match the reference, as do their
    # gradients (each other's, to rounding).
    a = dict(a, C=1)
    rng, x, kernel = _inputs(a, seed, a["F"])
    xl = np.moveaxis(x, 1, -1) if a["channels_first"] else x
    padding = a["padding"]
    x_ref, padding_ref = (np.pad(xl, [(0, 0), *padding, (0, 0)]), "valid") \
        if not isinstance(padding, str) else (xl, padding)
    expected = ref_conv(x_ref, kernel, np.zeros(a["F"]), a["strides"], padding_ref,
                        a["dilation_rate"])
    with use_kernels(a["backend"]):
        y = conv(xl, kernel, **dict(_options(a), data_format="channels_last"))
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)
        as_depthwise = _conv_and_gradients(a, x, kernel, None, seed)
        as_product = _conv_and_gradients(a, x, kernel, np.zeros(a["F"]), seed)
    for d, p in zip(as_depthwise, as_product):
        np.testing.assert_allclose(d, p, rtol=1e-10, atol=1e-10)


def _conv_and_gradients(a, x, kernel, b, up_seed):
    opts = _options(a)
    ts = [mg.Tensor(x), mg.Tensor(kernel)] + ([mg.Tensor(b)] if b is not None else [])
    with mg.GradientTape() as tape:
        tape.watch(ts)
        y = conv(*ts[:2], bias=ts[2] if b is not None else None, **opts)
    up = np.random.default_rng(up_seed).uniform(-1, 1, y.shape)
    return [y.numpy()] + [t.numpy() for t in tape.gradient(y, ts, output_gradients=up)]


@given(conv_args(), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_conv_im2col_and_per_tap_products_agree(a, seed):
    # Small inputs take the im2col path (one product over all taps); with the size limit
    # at 0 the same call takes one product per tap. Both: forward and every gradient.
    from minigrad.ops import convolution
    rng, x, kernel = _inputs(a, seed, a["F"])
    b = rng.uniform(-2, 2, a["F"]) if a["with_bias"] else None
    with use_kernels(a["backend"]):
        im2col = _conv_and_gradients(a, x, kernel, b, seed)
        limit, convolution.IM2COL_MAX_BYTES = convolution.IM2COL_MAX_BYTES, 0
        try:
            per_tap = _conv_and_gradients(a, x, kernel, b, seed)
        finally:
            convolution.IM2COL_MAX_BYTES = limit
    for u, v in zip(im2col, per_tap):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-10)


@given(conv_args(), st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_gradcheck_conv_per_tap_products(a, seed):
    from minigrad.ops import convolution
    rng, x, kernel = _inputs(a, seed, a["F"])
    limit, convolution.IM2COL_MAX_BYTES = convolution.IM2COL_MAX_BYTES, 0
    try:
        with use_kernels(a["backend"]):
            mg.gradcheck(lambda x, k: conv(x, k, **_options(a)), [x, kernel])
    finally:
        convolution.IM2COL_MAX_BYTES = limit


def test_gradient_flows_through_tape_to_variables():
    x = mg.Tensor(np.random.default_rng(0).standard_normal((2, 7, 3)))
    dk = mg.Variable(np.ones((3, 3, 2)))
    pk = mg.Variable(np.ones((1, 6, 4)))
    with mg.GradientTape() as tape:
        tape.watch([dk, pk])
        loss = separable_conv(x, dk, pk, padding="same").sum()
    grad_dk, grad_pk = tape.gradient(loss, [dk, pk])
    assert grad_dk.shape == dk.shape and grad_pk.shape == pk.shape


# ----------------------------------------------------------------------------------------
# Dtypes, layouts and errors
# ----------------------------------------------------------------------------------------

def test_float32_stays_float32(backend):
    x = np.random.default_rng(0).standard_normal((2, 9, 4)).astype(np.float32)
    dk = np.ones((3, 4, 2), np.float32)
    pk = np.ones((1, 8, 5), np.float32)
    assert depthwise_conv(x, dk).dtype == np.float32
    assert separable_conv(x, dk, pk).dtype == np.float32
    assert conv(x, np.ones((3, 4, 5), np.float32)).dtype == np.float32


def test_non_contiguous_inputs(backend):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((2, 20, 8))
    x = big[:, ::2, ::2]                                        # strided view (2, 10, 4)
    kernel = np.asfortranarray(rng.standard_normal((3, 4, 2)))
    expected = ref_depthwise(np.ascontiguousarray(x), np.ascontiguousarray(kernel), None,
                             (1,), "same", (1,))
    np.testing.assert_allclose(depthwise_conv(x, kernel, padding="same").numpy(), expected, atol=1e-12)


def test_channels_first_default_from_config():
    x = np.random.default_rng(0).standard_normal((2, 3, 8))     # (N, C, L)
    kernel = np.ones((2, 3, 1))
    mg.config.set_image_data_format("channels_first")
    try:
        y = depthwise_conv(x, kernel)
    finally:
        mg.config.set_image_data_format("channels_last")
    assert y.shape == (2, 3, 7)


X1 = np.zeros((2, 10, 3))
K1 = np.zeros((3, 3, 2))


@pytest.mark.parametrize("call, error, match", [
    (lambda: depthwise_conv(X1[0], K1), ValueError, "rank 3"),
    (lambda: depthwise_conv(X1, np.zeros((3, 3))), ValueError, "kernel must have rank"),
    (lambda: depthwise_conv(X1, np.zeros((3, 4, 2))), ValueError, "3 channels"),
    (lambda: depthwise_conv(X1, K1, strides=0), ValueError, "strides"),
    (lambda: depthwise_conv(X1, K1, strides=(1, 1)), ValueError, "strides"),
    (lambda: depthwise_conv(X1, K1, dilation_rate=-1), ValueError, "dilation_rate"),
    (lambda: depthwise_conv(X1, K1, padding="full"), ValueError, "padding"),
    (lambda: depthwise_conv(X1, K1, padding=((-1, 0),)), ValueError, "padding"),
    (lambda: depthwise_conv(X1, K1, padding=((1, 0), (0, 0))), ValueError, "padding"),
    (lambda: depthwise_conv(X1, K1, data_format="channels_middle"), ValueError, "data_format"),
    (lambda: depthwise_conv(X1, np.zeros((11, 3, 2))), ValueError, "Computed output size"),
    (lambda: depthwise_conv(np.zeros((4, 10, 3)), np.zeros((11, 3, 1)), strides=5), ValueError,
     "Computed output size"),
    (lambda: depthwise_conv(np.zeros((2, 4, 4, 3)), np.zeros((5, 5, 3, 1)), strides=2), ValueError,
     "Computed output size"),
    (lambda: depthwise_conv(np.zeros((2, 4, 4, 3)), np.zeros((2, 2, 3, 1)), padding="causal"),
     ValueError, "causal"),
    (lambda: depthwise_conv(X1.astype(np.float32), K1), TypeError, "float32.*float64|share one"),
    (lambda: depthwise_conv(X1.astype(np.int64), K1.astype(np.int64)), TypeError, "int64"),
    (lambda: separable_conv(X1, K1, np.zeros((1, 5, 4))), ValueError, "pointwise_kernel"),
    (lambda: separable_conv(X1, K1, np.zeros((6, 4))), ValueError, "pointwise_kernel"),
    (lambda: separable_conv(X1, K1, np.zeros((1, 6, 4)), bias=np.zeros(3)), ValueError, "bias"),
    (lambda: separable_conv(X1, K1, np.zeros((1, 6, 4), np.float32)), TypeError, "share one"),
    (lambda: conv(X1, np.zeros((3, 2, 4))), ValueError, "channels"),
    (lambda: conv(X1, np.zeros((3, 3, 4)), bias=np.zeros(4, np.float32)), TypeError, "bias"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_explicit_padding_forms():
    x = np.random.default_rng(0).standard_normal((1, 6, 2))
    k = np.ones((3, 2, 1))
    a = depthwise_conv(x, k, padding=((2, 1),)).numpy()
    b = depthwise_conv(x, k, padding=(2, 1)).numpy()             # 1D: a single pair
    c = depthwise_conv(np.pad(x, ((0, 0), (2, 1), (0, 0))), k).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    d = depthwise_conv(x, k, padding=(1,)).numpy()               # an int per axis: symmetric
    np.testing.assert_array_equal(d, depthwise_conv(x, k, padding="same").numpy())


def test_int_arguments_fast_and_slow_paths_agree():
    """The op-level and kernel-level integer checks take plain ints in range at once; every
    other value (bools, NumPy ints, out of range, wrong length) still goes through the full
    check, with the same results and errors as before."""
    from minigrad._kernels import guards
    from minigrad.ops.geometry import MAX_GEOMETRY, int_tuple
    assert int_tuple(2, 2, "strides") == (2, 2)
    assert int_tuple((1, 3), 2, "strides") == (1, 3)
    converted = int_tuple((np.int64(2), 1), 2, "strides")
    assert converted == (2, 1) and all(type(v) is int for v in converted)
    for bad in (True, (True, 1), (1, np.bool_(True)), 0, (1, 0), (1,), (1, 2, 3),
                MAX_GEOMETRY + 1, (1, MAX_GEOMETRY + 1), "2", 2.0):
        with pytest.raises(ValueError, match="strides"):
            int_tuple(bad, 2, "strides")
    assert guards.int_tuple("strides", (1, 2), 2, 1) == (1, 2)
    converted = guards.int_tuple("strides", (np.int32(1), 2), 2, 1)
    assert converted == (1, 2) and all(type(v) is int for v in converted)
    with pytest.raises(TypeError, match="strides"):
        guards.int_tuple("strides", (True, 1), 2, 1)
    with pytest.raises(ValueError, match="strides"):
        guards.int_tuple("strides", (0, 1), 2, 1)
    with pytest.raises(ValueError, match="strides"):                 # caught one level up
        guards.depthwise_geometry((1, 8, 8, 2), (3, 3, 2, 1), (MAX_GEOMETRY + 1, 1), (1, 1),
                                  ((0, 0), (0, 0)), "x")
    with pytest.raises(TypeError, match="strides"):
        guards.depthwise_geometry((1, 8, 8, 2), (3, 3, 2, 1), (True, 1), (1, 1),
                                  ((0, 0), (0, 0)), "x")


@pytest.mark.parametrize("op, kernel_shape", [
    (lambda x, k: conv(x, k, padding="same"), (3, 3, 1, 5)),      # one channel: depthwise path
    (lambda x, k: conv(x, k), (1, 1, 1, 5)),                        # a 1x1 conv: pointwise path
    (lambda x, k: depthwise_conv(x, k, padding="same"), (3, 3, 1, 2)),
    (lambda x, k: conv(x, k, strides=2, padding="same"), (3, 3, 1, 5)),
])
def test_gradient_of_an_input_no_tape_follows_is_skipped(backend, monkeypatch, op, kernel_shape):
    """Data that no tape tracks (a model's input) gets no gradient, so the ops skip it: the
    kernel's gradient alone is computed, what the fused backward gives up to rounding (at a
    stride above 1 the two sum the batch in different chunks).
    A tensor watched after the op still gets its gradient (the question is asked during
    the backward pass), and a frozen kernel gets none while the input's is computed."""
    rng = np.random.default_rng(3)
    x = mg.Tensor(rng.standard_normal((3, 6, 5, 1)))
    k = mg.Variable(rng.standard_normal(kernel_shape))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = op(x, k)
    gx, gk = tape.gradient(y, [x, k])

    kernels = _kernels.active()
    for fused in ("depthwise_backward", "pointwise_backward"):    # must not run for data
        monkeypatch.setattr(kernels, fused, lambda *a, **kw: pytest.fail(f"{fused} ran"))
    with mg.GradientTape() as tape:
        y = op(x, k)
    none, gk_data = tape.gradient(y, [x, k])
    assert none is None
    np.testing.assert_allclose(gk_data.numpy(), gk.numpy(), rtol=1e-12, atol=1e-12)
    monkeypatch.undo()

    with mg.GradientTape() as tape:
        y = op(x, k)
        tape.watch(x)                                   # after the op
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), gx.numpy())

    frozen = mg.Variable(k.numpy(), trainable=False)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = op(x, frozen)
    gx_frozen, none = tape.gradient(y, [x, frozen])
    assert none is None
    np.testing.assert_allclose(gx_frozen.numpy(), gx.numpy(), rtol=1e-12, atol=1e-12)
