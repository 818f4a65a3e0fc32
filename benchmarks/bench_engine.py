"""Per-op overhead of the tape engine, against PyTorch autograd, in one run.

The workload is a chain of tiny elementwise ops, so that the arithmetic costs almost
nothing and what is measured is the framework: building result tensors, recording the
tape, and walking it backwards::

    y = x
    for _ in range(steps):
        y = tanh(y * 1.001 + 0.1)        # three ops per step
    loss = y.sum()                       # one more
    grad = d loss / d x

Both frameworks run the same chain on the same small tensor (16 elements by default),
same dtype; PyTorch is pinned to ``--threads`` threads. Reported per op (total time /
number of ops), best and median over ``--repeat`` runs:

* ``forward``   building the chain while recording (minigrad: under a GradientTape;
  torch: with ``requires_grad``),
* ``fwd+bwd``   the same plus computing the gradient of ``x``,
* ``numpy``     the same forward arithmetic on bare ndarrays (the floor: no framework).

Usage::

    python benchmarks/bench_engine.py                  # 16 elements, float32, 300 ops
    python benchmarks/bench_engine.py --shape 4 4 --dtype float64 --threads 2

The machine may be shared: run it a few times, and compare ratios from the same run.
``--clock cpu`` (the default) times with the process's CPU time, which leaves out the
time spent waiting while other jobs had the CPU; ``--clock wall`` uses the wall clock.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigrad as mg  # noqa: E402
from minigrad import ops  # noqa: E402


def chain_numpy(x, steps):
    y = x
    for _ in range(steps):
        y = np.tanh(y * 1.001 + 0.1)
    return y.sum()


def forward_minigrad(x, steps):
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x
        for _ in range(steps):
            y = ops.tanh(y * 1.001 + 0.1)
        loss = y.sum()
    return tape, loss


def chain_minigrad(x, steps):
    tape, loss = forward_minigrad(x, steps)
    return tape.gradient(loss, x)


def forward_torch(torch, x, steps):
    y = x
    for _ in range(steps):
        y = torch.tanh(y * 1.001 + 0.1)
    return y.sum()


def chain_torch(torch, x, steps):
    loss = forward_torch(torch, x, steps)
    grad, = torch.autograd.grad(loss, [x])
    return grad


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def measure(contenders, repeat, clock=time.process_time):
    """Seconds per call of each ``fn()`` in ``contenders`` ({name: fn}): (best, median)
    over ``repeat`` calls after a warm-up. The contenders take turns in every repeat, so a
    change of machine load during the run affects all of them alike."""
    for fn in contenders.values():
        for _ in range(3):
            fn()
    times = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[16])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--steps", type=int, default=100, help="chain steps (3 ops each)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--clock", default="cpu", choices=sorted(CLOCKS))
    args = parser.parse_args(argv)

    n_ops = 3 * args.steps + 1
    steps = args.steps
    data = np.random.default_rng(0).uniform(-1, 1, size=args.shape).astype(args.dtype)
    x = mg.Tensor(data)
    contenders = {
        ("numpy (no autodiff)", "forward"): lambda: chain_numpy(data, steps),
        ("minigrad", "forward"): lambda: forward_minigrad(x, steps),
        ("minigrad", "fwd+bwd"): lambda: chain_minigrad(x, steps),
    }
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed (pip install torch==2.13.0): minigrad only.\n")
    if torch is not None:
        torch.set_num_threads(args.threads)
        tx = torch.tensor(data, requires_grad=True)
        # The gradients agree before anything is timed.
        got, expected = chain_torch(torch, tx, steps).numpy(), chain_minigrad(x, steps)
        tol = 1e-4 if args.dtype == "float32" else 1e-10
        if not np.allclose(got, expected, rtol=tol, atol=tol):
            raise SystemExit("minigrad and torch gradients differ; not timing.")
        name = f"torch {torch.__version__} ({args.threads} thread{'s' if args.threads > 1 else ''})"
        contenders[name, "forward"] = lambda: forward_torch(torch, tx, steps)
        contenders[name, "fwd+bwd"] = lambda: chain_torch(torch, tx, steps)
    results = measure(contenders, args.repeat, CLOCKS[args.clock])

    print(f"chain of {n_ops} ops on shape {tuple(args.shape)} {args.dtype}, {args.repeat} "
          f"interleaved runs, {args.clock} clock; python {platform.python_version()}, numpy "
          f"{np.__version__}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
    print(f"{'':28s}{'forward us/op':>22s}{'fwd+bwd us/op':>22s}")
    print(f"{'':28s}{'best':>11s}{'median':>11s}{'best':>11s}{'median':>11s}")
    us = 1e6 / n_ops
    names = list(dict.fromkeys(name for name, _ in contenders))
    for name in names:
        cells = ""
        for part in ("forward", "fwd+bwd"):
            best, median = results.get((name, part), (None, None))
            cells += (f"{best * us:11.2f}{median * us:11.2f}" if best is not None
                      else f"{'-':>11s}{'-':>11s}")
        print(f"{name:28s}{cells}")
    if torch is not None:
        m, t = "minigrad", names[-1]
        ratio = {(part, i): results[m, part][i] / results[t, part][i]
                 for part in ("forward", "fwd+bwd") for i in (0, 1)}
        print(f"minigrad / torch (best): forward {ratio['forward', 0]:.2f}x, fwd+bwd "
              f"{ratio['fwd+bwd', 0]:.2f}x   (median: {ratio['forward', 1]:.2f}x, "
              f"{ratio['fwd+bwd', 1]:.2f}x; below 1 means minigrad is faster)")


if __name__ == "__main__":
    main()
