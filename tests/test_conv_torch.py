"""Cross-check the convolution ops against PyTorch (skipped when torch is not installed).

PyTorch's grouped convolution (``groups=C``) with the kernel laid out as (C*M, 1, *k) is the
same depthwise convolution (output channel c*M + m); asymmetric padding is applied with an
explicit ``F.pad`` first. Outputs and all gradients are compared in float64.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels
from minigrad.ops.convolution import conv, depthwise_conv, separable_conv, use_kernels

torch = pytest.importorskip("torch")
TF = torch.nn.functional

BACKENDS = ["numpy"] + (["cython"] if _kernels.compiled is not None else [])


def _to_torch(x, r):
    """channels_last (N, *spatial, C) -> torch NC* tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


def _torch_conv(xt, weight, strides, dilation, pads, groups, r):
    """Zero-pad explicitly (any split), then a 'valid' torch convolution."""
    flat = []
    for before, after in reversed(pads):          # F.pad lists the last axis first
        flat += [before, after]
    xt = TF.pad(xt, flat)
    fn = TF.conv1d if r == 1 else TF.conv2d
    return fn(xt, weight, stride=strides, dilation=dilation, groups=groups)


def _pads(spatial, ks, strides, dilation, padding):
    from minigrad.ops.convolution import conv_padding
    if isinstance(padding, str):
        return [conv_padding(L, k, s, d, padding) for L, k, s, d in zip(spatial, ks, strides, dilation)]
    return list(padding)


@st.composite
def problems(draw):
    r = draw(st.integers(1, 2))
    ks = tuple(draw(st.integers(1, 4)) for _ in range(r))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(r))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(r))
    kind = draw(st.sampled_from(["valid", "same", "explicit"] + (["causal"] if r == 1 else [])))
    padding = (tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(r))
               if kind == "explicit" else kind)
    spatial = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 9)) for k, d in zip(ks, dilation))
    return dict(r=r, ks=ks, strides=strides, dilation=dilation, padding=padding, spatial=spatial,
                N=draw(st.integers(1, 3)), C=draw(st.sampled_from([1, 3, 17, 20])),
                M=draw(st.integers(1, 3)), F=draw(st.integers(1, 5)),
                backend=draw(st.sampled_from(BACKENDS)), seed=draw(st.integers(0, 2**31)))


@given(problems())
@settings(max_examples=60, deadline=None)
def test_depthwise_and_separable_match_torch(p):
    rng = np.random.default_rng(p["seed"])
    r, C, M, F = p["r"], p["C"], p["M"], p["F"]
    x = rng.standard_normal((p["N"], *p["spatial"], C))
    dk = rng.standard_normal((*p["ks"], C, M))
    pk = rng.standard_normal((1,) * r + (C * M, F))
    b = rng.standard_normal(F)
    pads = _pads(p["spatial"], p["ks"], p["strides"], p["dilation"], p["padding"])
    opts = dict(strides=p["strides"], padding=p["padding"], dilation_rate=p["dilation"])

    xt = _to_torch(x, r).requires_grad_(True)
    # (*k, C, M) -> (C*M, 1, *k): output channel c*M + m
    dkt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(dk.reshape(*p["ks"], C * M), -1, 0)[:, None]))
    dkt.requires_grad_(True)
    pkt = torch.from_numpy(np.ascontiguousarray(pk.reshape(C * M, F).T.reshape((F, C * M) + (1,) * r)))
    pkt.requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    z_t = _torch_conv(xt, dkt, p["strides"], p["dilation"], pads, C, r)
    y_t = _torch_conv(z_t, pkt, (1,) * r, (1,) * r, [(0, 0)] * r, 1, r) + bt.reshape((F,) + (1,) * r)
    g = rng.standard_normal(y_t.shape)
    y_t.backward(torch.from_numpy(g))

    with use_kernels(p["backend"]):
        ts = [mg.Tensor(a) for a in (x, dk, pk, b)]
        with mg.GradientTape() as tape:
            tape.watch(ts)
            z = depthwise_conv(ts[0], ts[1], **opts)
            y = separable_conv(ts[0], ts[1], ts[2], bias=ts[3], **opts)
        grads = tape.gradient(y, ts, output_gradients=np.moveaxis(g, 1, -1))

    np.testing.assert_allclose(z.numpy(), np.moveaxis(z_t.detach().numpy(), 1, -1), atol=1e-10)
    np.testing.assert_allclose(y.numpy(), np.moveaxis(y_t.detach().numpy(), 1, -1), atol=1e-10)
    np.testing.assert_allclose(grads[0], np.moveaxis(xt.grad.numpy(), 1, -1), atol=1e-9)
    np.testing.assert_allclose(grads[1].reshape(*p["ks"], C * M),
                               np.moveaxis(dkt.grad.numpy()[:, 0], 0, -1), atol=1e-9)
    np.testing.assert_allclose(grads[2].reshape(C * M, F), pkt.grad.numpy().reshape(F, C * M).T, atol=1e-9)
    np.testing.assert_allclose(grads[3], bt.grad.numpy(), atol=1e-9)


@given(problems())
@settings(max_examples=40, deadline=None)
def test_conv_matches_torch(p):
    rng = np.random.default_rng(p["seed"])
    r, C, F = p["r"], p["C"], p["F"]
    x = rng.standard_normal((p["N"], *p["spatial"], C))
    k = rng.standard_normal((*p["ks"], C, F))
    pads = _pads(p["spatial"], p["ks"], p["strides"], p["dilation"], p["padding"])
    xt = _to_torch(x, r).requires_grad_(True)
    kt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(k, (-1, -2), (0, 1)))).requires_grad_(True)
    y_t = _torch_conv(xt, kt, p["strides"], p["dilation"], pads, 1, r)
    g = rng.standard_normal(y_t.shape)
    y_t.backward(torch.from_numpy(g))
    with use_kernels(p["backend"]):
        ts = [mg.Tensor(x), mg.Tensor(k)]
        with mg.GradientTape() as tape:
            tape.watch(ts)
            y = conv(ts[0], ts[1], strides=p["strides"], padding=p["padding"], dilation_rate=p["dilation"])
        gx, gk = tape.gradient(y, ts, output_gradients=np.moveaxis(g, 1, -1))
    np.testing.assert_allclose(y.numpy(), np.moveaxis(y_t.detach().numpy(), 1, -1), atol=1e-10)
    np.testing.assert_allclose(gx, np.moveaxis(xt.grad.numpy(), 1, -1), atol=1e-9)
    np.testing.assert_allclose(gk, np.moveaxis(kt.grad.numpy(), (0, 1), (-1, -2)), atol=1e-9)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-4), (np.float64, 1e-10)])
def test_benchmark_shapes_match_torch(dtype, tol):
    """The benchmark's 2D layer shape (smaller batch), both dtypes, compiled kernels."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 64, 64, 32)).astype(dtype)
    dk = rng.standard_normal((3, 3, 32, 1)).astype(dtype)
    y = depthwise_conv(x, dk, padding="same").numpy()
    expected = TF.conv2d(_to_torch(x, 2), torch.from_numpy(np.ascontiguousarray(
        np.moveaxis(dk[..., 0], -1, 0)[:, None])), padding=1, groups=32)
    np.testing.assert_allclose(y, np.moveaxis(expected.numpy(), 1, -1), rtol=tol, atol=tol)
