"""A sweep over the depthwise kernels' argument space, looking for the shapes they handle badly.

    python benchmarks/sweep_depthwise.py            # ~2 minutes on 2 cores
    python benchmarks/sweep_depthwise.py --quick    # fewer shapes and repeats

``bench_conv.py`` times two shapes against PyTorch; a kernel can be fast there and slow a few
steps away, where another loop or a leftover path takes over. This script times the compiled
kernels directly (no tape) on a grid of channel counts (multiples of 8, and not of 16),
kernel sizes, strides, depth multipliers and both dtypes, on 1 and 2 threads, and flags:

* ``slow``: a multiply-add rate below a third of the median of its dtype and stride (a
  leftover path in plain loops, for instance);
* ``fused>apart``: the fused backward (both gradients in one pass) slower by more than 10%
  than the input gradient and the kernel gradient computed one after the other;
* ``2t>1t``: two threads slower by more than 10% than one.

Each time is the fastest of a few alternating calls: on a shared machine the slowest ones
measure the neighbours. A flag is a lead to look into, not a verdict; run the case again.
The sweep found three problems on 2026-11-30, since fixed (see benchmarks/README.md): streaming
stores straddling cache lines, a lone vector of channels left to plain loops, and a fused
backward slower than its two halves for kernels other than 3x3.
"""
import argparse
import itertools
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigrad._kernels import depthwise as D           # noqa: E402
from minigrad.ops.convolution import conv_padding      # noqa: E402
from minigrad.threads import limit_kernel_threads      # noqa: E402


def fastest(fns, repeats):
    """The fastest of ``repeats`` calls of each function, the calls taking turns."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def time_case(dtype, C, ksize, stride, M, repeats, rng, side=32, batch=16):
    """Seconds per call of the forward, the fused backward and the two backward passes apart,
    on 1 and 2 threads, and the multiply-adds of one forward call."""
    x = rng.standard_normal((batch, side, side, C)).astype(dtype)
    k = rng.standard_normal((ksize, ksize, C, M)).astype(dtype)
    pads = tuple(conv_padding(side, ksize, stride, 1, "same") for _ in range(2))
    args = ((stride, stride), (1, 1), pads)
    y = D.depthwise_forward(x, k, *args)
    g = rng.standard_normal(y.shape).astype(dtype)
    times = {}
    for threads in (1, 2):
        with limit_kernel_threads(threads):
            fwd, fused, gx, gk = fastest([
                lambda: D.depthwise_forward(x, k, *args),
                lambda: D.depthwise_backward(g, x, k, *args),
                lambda: D.depthwise_backward_input(g, k, x.shape, *args),
                lambda: D.depthwise_backward_kernel(x, g, k.shape, *args)], repeats)
        times[threads] = {"fwd": fwd, "fused": fused, "apart": gx + gk}
    return times, y.size * ksize * ksize


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    args = parser.parse_args()
    channels = (8, 24, 32, 72, 144) if args.quick else (8, 16, 24, 32, 40, 72, 96, 144)
    repeats = 3 if args.quick else 5
    grid = [(dt, C, k, s, 1) for dt, C, k, s in
            itertools.product(("float32", "float64"), channels, (3, 5, 7), (1, 2))]
    grid += [(dt, C, 3, s, 4) for dt, C, s in itertools.product(("float32", "float64"), (8, 32), (1, 2))]
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'dtype':8s} {'C':>4s} {'k':>2s} {'s':>2s} {'M':>2s} | {'fwd ms':>7s} {'GMAC/s':>6s} | "
          f"{'bwd ms':>7s} {'GMAC/s':>6s} | {'fused/apart':>11s} | {'2t/1t fwd':>9s} {'bwd':>5s}")
    for dtype, C, ksize, stride, M in grid:
        t, mac = time_case(dtype, C, ksize, stride, M, repeats, rng)
        best = {part: min(t[1][part], t[2][part]) for part in ("fwd", "fused", "apart")}
        row = dict(dtype=dtype, C=C, k=ksize, s=stride, M=M,
                   fwd_rate=mac / best["fwd"] / 1e9, bwd_rate=2 * mac / best["fused"] / 1e9,
                   fused_vs_apart=best["fused"] / best["apart"],
                   threads_fwd=t[2]["fwd"] / t[1]["fwd"], threads_bwd=t[2]["fused"] / t[1]["fused"])
        rows.append(row)
        print(f"{dtype:8s} {C:4d} {ksize:2d} {stride:2d} {M:2d} | {best['fwd'] * 1e3:7.3f} "
              f"{row['fwd_rate']:6.1f} | {best['fused'] * 1e3:7.3f} {row['bwd_rate']:6.1f} | "
              f"{row['fused_vs_apart']:11.2f} | {row['threads_fwd']:9.2f} {row['threads_bwd']:5.2f}",
              flush=True)
    flagged = []
    for row in rows:
        group = [r for r in rows if r["dtype"] == row["dtype"] and r["s"] == row["s"]]
        flags = []
        for part in ("fwd_rate", "bwd_rate"):
            if row[part] < statistics.median(r[part] for r in group) / 3:
                flags.append(f"slow {part[:3]}")
        if row["fused_vs_apart"] > 1.1:
            flags.append("fused>apart")
        if row["threads_fwd"] > 1.1 or row["threads_bwd"] > 1.1:
            flags.append("2t>1t")
        if flags:
            flagged.append((row, flags))
    print(f"\n{len(flagged)} of {len(rows)} cases flagged (run them again before believing a flag):")
    for row, flags in flagged:
        print(f"  {row['dtype']} C={row['C']} k={row['k']} s={row['s']} M={row['M']}: {', '.join(flags)}")


if __name__ == "__main__":
    main()
