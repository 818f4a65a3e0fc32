"""Two builds of the compiled kernels, timed against each other in one process.

    python benchmarks/ab_builds.py ../other-checkout           # this checkout (A) vs that one (B)
    python benchmarks/ab_builds.py ../other --threads 2 --op forward
    python benchmarks/ab_builds.py ../other --small --op backward   # MobileNetV2's small maps
    python benchmarks/ab_builds.py ../other --strided   # strided input gradients

For work on the kernels themselves. On a shared machine the speed drifts by tens of percent
over a minute, so two builds timed one after the other, even in alternating processes,
differ by more than most changes to a loop do. Here both builds are loaded into one process
and their calls alternate, so a slow stretch slows both alike. Each build's compiled module
(``minigrad/_kernels/<module>.*.so``, built in place with ``python setup.py build_ext
--inplace``) is loaded under its own name; the Python around it (argument checks, buffers)
is this checkout's for both. The two results must agree before anything is timed.

Prints, per case, the 10th percentile and the median of each build's wall time and their
ratios (B / A: below 1 means B is faster). ``--small`` times the depthwise calls of the
small MobileNetV2 (8x8 digits, batch 32) instead, and one image alone: there the fixed
cost of a call (argument checks, buffers, the thread region) is most of its time.
``--strided`` times the input gradient alone and the fused backward of 5x5 and 7x7 kernels at
stride 2x2, and of 3x3 kernels at stride 3x3, on 16 x 32 x 32 images ('same' padding), and
adds the fastest call of each build and its rate in G multiply-adds a second
(N*OH*OW*C*M*KH*KW per gradient; the fused backward computes two).
"""
import argparse
import glob
import importlib.util
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

from minigrad import threads  # noqa: E402
from minigrad.ops import conv_padding  # noqa: E402

# name, input shape, kernel shape, strides, dilation, pads: bench_conv.py's shapes
CASES = [
    ("1D", (32, 1024, 64), (9, 64, 1), (1,), (1,), ((4, 4),)),
    ("2D", (32, 64, 64, 32), (3, 3, 32, 1), (1, 1), (1, 1), ((1, 1), (1, 1))),
]
SAME, VALID = ((1, 1), (1, 1)), ((0, 0), (0, 0))
# the 3x3 depthwise layers of benchmarks/bench_training.py --model mobilenet, and one image
SMALL_CASES = [
    ("8x8x16", (32, 8, 8, 16), (3, 3, 16, 1), (1, 1), (1, 1), SAME),
    ("9x9x96/2", (32, 9, 9, 96), (3, 3, 96, 1), (2, 2), (1, 1), VALID),
    ("4x4x144", (32, 4, 4, 144), (3, 3, 144, 1), (1, 1), (1, 1), SAME),
    ("5x5x144/2", (32, 5, 5, 144), (3, 3, 144, 1), (2, 2), (1, 1), VALID),
    ("1x8x8x16", (1, 8, 8, 16), (3, 3, 16, 1), (1, 1), (1, 1), SAME),
]
# the strided input gradient (benchmarks/README.md): dtype, name, input shape, kernel shape,
# strides, dilation, pads ('same' on 32 positions). Kernels wider than 3 at stride 2, and 3x3
# at stride 3 (one tap per kernel row and residue).
STRIDED_CASES = [
    (dtype, f"C{C} {k}x{k}" + (f"/{s}" if s != 2 else "") + (f" M{M}" if M > 1 else ""),
     (16, 32, 32, C), (k, k, C, M), (s, s), (1, 1), (conv_padding(32, k, s, 1, "same"),) * 2)
    for dtype, C, k, M, s in [
        (np.float32, 8, 5, 1, 2), (np.float32, 16, 5, 1, 2), (np.float32, 24, 5, 1, 2),
        (np.float32, 8, 7, 1, 2), (np.float32, 16, 7, 1, 2), (np.float32, 24, 7, 1, 2),
        (np.float64, 16, 5, 1, 2), (np.float32, 8, 5, 2, 2),
        (np.float32, 32, 3, 1, 3), (np.float32, 64, 3, 1, 3), (np.float64, 32, 3, 1, 3)]
]


def load(checkout, module):
    """The compiled ``minigrad._kernels.<module>`` of ``checkout``."""
    found = glob.glob(os.path.join(checkout, "minigrad", "_kernels", f"{module}.*.so"))
    if not found:
        raise SystemExit(f"no compiled {module} in {checkout}: run 'python setup.py build_ext "
                         "--inplace' there first")
    spec = importlib.util.spec_from_file_location(f"minigrad._kernels.{module}", found[0])
    kernels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kernels)
    return kernels


def calls(kernels, op, x, k, gy, geometry):
    if op == "forward":
        return lambda: kernels.depthwise_forward(x, k, *geometry)
    if op == "input":
        return lambda: kernels.depthwise_backward_input(gy, k, x.shape, *geometry)
    return lambda: kernels.depthwise_backward(gy, x, k, *geometry)


def same(a, b, dtype):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    tol = 1e-3 if dtype == np.float32 else 1e-10
    return all(np.allclose(u, v, rtol=tol, atol=tol * max(1.0, float(np.abs(u).max())))
               for u, v in zip(a, b))


def alternate(fns, repeats):
    """Wall times (s) of ``repeats`` calls of each function, the calls taking turns."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return times


def compare(builds, name, op, dtype, x, k, gy, geometry, repeats, scale):
    """One case timed in both builds, or SystemExit if their results disagree."""
    fns = [calls(b, op, x, k, gy, geometry) for b in builds]
    if not same(fns[0](), fns[1](), dtype):
        raise SystemExit(f"{name} {np.dtype(dtype).name}: the two builds disagree")
    return [np.asarray(t) * scale for t in alternate(fns, repeats)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="the other checkout (B), its kernels built in place")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--op", choices=("forward", "backward"), default="backward",
                        help="depthwise forward, or the fused backward (default)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="calls per build and case (default 40; 400 with --small)")
    parser.add_argument("--small", action="store_true",
                        help="the small MobileNetV2 shapes (float32, times in us)")
    parser.add_argument("--strided", action="store_true",
                        help="the input gradient and the fused backward of 5x5 and 7x7 kernels "
                             "at stride 2x2 and 3x3 at 3x3 (--op is ignored)")
    args = parser.parse_args()
    repeats = args.repeats or (400 if args.small else 40)
    cases, dtypes = (SMALL_CASES, (np.float32,)) if args.small else (CASES, (np.float32, np.float64))
    unit, scale = ("us", 1e6) if args.small else ("ms", 1e3)
    builds = [load(HERE, "depthwise"), load(os.path.abspath(args.other), "depthwise")]
    rng = np.random.default_rng(0)
    if args.strided:
        print(f"A: {HERE}\nB: {os.path.abspath(args.other)}\n{args.threads} thread(s), {repeats} "
              "alternating calls each; times in ms, fastest / median; G multiply-adds a second "
              "of the fastest")
        with threads.limit_kernel_threads(args.threads):
            for dtype, name, xs, ks, *geometry in STRIDED_CASES:
                x = rng.standard_normal(xs).astype(dtype)
                k = rng.standard_normal(ks).astype(dtype)
                gy = rng.standard_normal(builds[0].depthwise_forward(x, k, *geometry).shape).astype(dtype)
                for op, gradients in (("input", 1), ("backward", 2)):
                    ta, tb = compare(builds, name, op, dtype, x, k, gy, geometry, repeats, 1e3)
                    rate = [gradients * gy.size * ks[0] * ks[1] / (t.min() * 1e6) for t in (ta, tb)]
                    print(f"{name:<10} {np.dtype(dtype).name:<8} {op:<8} "
                          f"A {ta.min():6.3f} / {np.median(ta):6.3f} {rate[0]:5.1f} G   "
                          f"B {tb.min():6.3f} / {np.median(tb):6.3f} {rate[1]:5.1f} G   "
                          f"B/A {tb.min() / ta.min():.2f} / {np.median(tb) / np.median(ta):.2f}",
                          flush=True)
        return
    print(f"A: {HERE}\nB: {os.path.abspath(args.other)}\n{args.op}, {args.threads} thread(s), "
          f"{repeats} alternating calls each; times in {unit}, p10 / median")
    with threads.limit_kernel_threads(args.threads):
        for name, xs, ks, *geometry in cases:
            for dtype in dtypes:
                x = rng.standard_normal(xs).astype(dtype)
                k = rng.standard_normal(ks).astype(dtype)
                gy = rng.standard_normal(builds[0].depthwise_forward(x, k, *geometry).shape).astype(dtype)
                times = compare(builds, name, args.op, dtype, x, k, gy, geometry, repeats, scale)
                (a10, a50), (b10, b50) = (np.percentile(t, [10, 50]) for t in times)
                print(f"{name:<9} {np.dtype(dtype).name:<8} A {a10:7.2f} / {a50:7.2f}   "
                      f"B {b10:7.2f} / {b50:7.2f}   B/A {b10 / a10:.3f} / {b50 / a50:.3f}")


if __name__ == "__main__":
    main()
