"""Two builds of the compiled kernels, timed against each other in one process.

    python benchmarks/ab_builds.py ../other-checkout           # this checkout (A) vs that one (B)
    python benchmarks/ab_builds.py ../other --threads 2 --op forward
    python benchmarks/ab_builds.py ../other --small --op backward   # MobileNetV2's small maps

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
    return lambda: kernels.depthwise_backward(gy, x, k, *geometry)


def same(a, b, dtype):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    tol = 1e-3 if dtype == np.float32 else 1e-10
    return all(np.allclose(u, v, rtol=tol, atol=tol * max(1.0, float(np.abs(u).max())))
               for u, v in zip(a, b))


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
    args = parser.parse_args()
    repeats = args.repeats or (400 if args.small else 40)
    cases, dtypes = (SMALL_CASES, (np.float32,)) if args.small else (CASES, (np.float32, np.float64))
    unit, scale = ("us", 1e6) if args.small else ("ms", 1e3)
    builds = [load(HERE, "depthwise"), load(os.path.abspath(args.other), "depthwise")]
    rng = np.random.default_rng(0)
    print(f"A: {HERE}\nB: {os.path.abspath(args.other)}\n{args.op}, {args.threads} thread(s), "
          f"{repeats} alternating calls each; times in {unit}, p10 / median")
    with threads.limit_kernel_threads(args.threads):
        for name, xs, ks, *geometry in cases:
            for dtype in dtypes:
                x = rng.standard_normal(xs).astype(dtype)
                k = rng.standard_normal(ks).astype(dtype)
                gy = rng.standard_normal(builds[0].depthwise_forward(x, k, *geometry).shape).astype(dtype)
                fns = [calls(b, args.op, x, k, gy, geometry) for b in builds]
                if not same(fns[0](), fns[1](), dtype):
                    raise SystemExit(f"{name} {np.dtype(dtype).name}: the two builds disagree")
                times = [[], []]
                for _ in range(repeats):
                    for fn, t in zip(fns, times):
                        start = time.perf_counter()
                        fn()
                        t.append(time.perf_counter() - start)
                (a10, a50), (b10, b50) = (np.percentile(t, [10, 50]) * scale for t in times)
                print(f"{name:<9} {np.dtype(dtype).name:<8} A {a10:7.2f} / {a50:7.2f}   "
                      f"B {b10:7.2f} / {b50:7.2f}   B/A {b10 / a10:.3f} / {b50 / a50:.3f}")


if __name__ == "__main__":
    main()
