"""The input gradient at a horizontal stride > 1 agrees with the NumPy twin, and stays bitwise
the same on one and two threads (kernels 3 wide at stride 2 have a path of their own, in
stride2.h; every other width and stride takes the one below).

That gradient runs one residue r of the stride at a time (the input positions r, r + sw,
r + 2*sw, ...): its taps, every sw/gcd(sw, dw)-th of each kernel row, summed as one contiguous
row on the row blocks with a packed kernel of its own, written to every sw-th position of the
row (M = 1; with streaming stores where a position's channels are whole cache lines, as 16
float32 channels are) or summed over m into them (``_input_grad_row_strided`` in
depthwise_rows.pxi). These cases reach every kind of residue: residues of different lengths
(widths not a multiple of the stride), of 1-4 taps a kernel row (rows of 3 read backwards
take the 3-wide blocks), none at all (dilation sharing a factor with the stride), short rows
and long ones, leftover channels and M > 1.
"""
import numpy as np
import pytest

from minigrad import _kernels
from minigrad import threads as mg_threads
from minigrad.ops import conv_padding

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")
TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def _pads(kind, W, KW, sw, dw):
    """The horizontal padding: Keras's 'same' for this stride, 'valid', or two uneven ones."""
    if kind in ("same", "valid"):
        return conv_padding(W, KW, sw, dw, kind)
    return {"uneven": (1, 3), "wide": ((KW - 1) * dw, 0)}[kind]


def _compiled_on(threads, call):
    """``call()`` on ``threads`` kernel threads, even for a small problem."""
    from minigrad._kernels import depthwise as compiled_depthwise
    old = compiled_depthwise.PARALLEL_MIN_WORK
    compiled_depthwise.PARALLEL_MIN_WORK = 1
    try:
        with mg_threads.limit_kernel_threads(threads):
            return call()
    finally:
        compiled_depthwise.PARALLEL_MIN_WORK = old


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("KW", [3, 4, 5, 6, 7])
@pytest.mark.parametrize("sw", [2, 3])
def test_strided_input_gradient(KW, sw, dtype):
    rng = np.random.default_rng(100 * KW + 10 * sw + np.dtype(dtype).itemsize)
    for dw in (1, 2):
        for M in (1, 3):
            for C in (1, 3, 8, 12, 16, 24, 33):
                for W in (sw * 12 + 1, sw * 3 + 2):         # residues of different lengths
                    for kind in ("same", "valid", "uneven", "wide"):
                        pads = ((1, 1), _pads(kind, W, KW, sw, dw))
                        if W + sum(pads[1]) - dw * (KW - 1) < 1:
                            continue                          # no output position
                        geometry = ((2, sw), (1, dw), pads)
                        x = rng.standard_normal((2, 5, W, C)).astype(dtype)
                        kernel = rng.standard_normal((3, KW, C, M)).astype(dtype)
                        y = twin.depthwise_forward(x, kernel, *geometry)
                        grad_y = rng.standard_normal(y.shape).astype(dtype)
                        want_x, want_k = twin.depthwise_backward(grad_y, x, kernel, *geometry)
                        case = f"dw={dw} M={M} C={C} W={W} pads={kind}"
                        one, two = (
                            _compiled_on(n, lambda: (
                                compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                                *compiled.depthwise_backward(grad_y, x, kernel, *geometry)))
                            for n in (1, 2))
                        for got, want in zip(one, (want_x, want_x, want_k)):
                            np.testing.assert_allclose(got, want, err_msg=case, **TOL[dtype])
                        for a, b in zip(one, two):
                            assert np.array_equal(a, b), f"{case}: 2 threads differ from 1"
