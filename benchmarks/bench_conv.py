"""Convolution speed: minigrad vs PyTorch (NCHW and channels_last) vs naive NumPy, in one run.

    python benchmarks/bench_conv.py            # full run (a few minutes on 2 cores)
    python benchmarks/bench_conv.py --quick    # fewer repeats

minigrad is timed through its public ops and tape (``ops.depthwise_conv`` /
``ops.separable_conv`` inside a ``GradientTape``, then ``tape.gradient`` with a fixed upstream
gradient): what a user pays. PyTorch is timed the same way (``F.conv*`` then
``y.backward(g)``) in two memory layouts, NCHW and channels_last, with
``torch.set_num_threads(2)``; the ratio is minigrad / the faster PyTorch layout. Times are
medians over several repeats after warm-up. Both are measured twice: in this process, taking
turns ("same process"), and each alone in a child process that does not import the other
("alone": as users run them). The targets are checked on the "alone" ratio: in one process,
each library's worker threads keep spinning for a while after its call and take the second
core from the other's next call, which skews the interleaved figures. In its child, PyTorch
times its two layouts in turn and each one alone, and each layout keeps the faster median
(see the torch child in ``main``).

Every case also prints the bytes its computation must move at the least (each array read or
written once per pass that needs it, formulas in ``_bytes_moved``), the machine's copy
bandwidth measured in the same run by a child process that does not import minigrad (a
256 MB ``np.copyto``, read + write counted), and the fraction of that bandwidth minigrad
reached (bytes / time / bandwidth). One copy runs on one core; as many children as the
kernels have threads then copy at once, and the last column is the fraction of their sum,
the bandwidth the kernels' threads could have together. Below each float32 depthwise case,
the minigrad child also times the same call with a kernel of one tap: the same bytes through
the same op and threads with a ninth of the arithmetic, a floor measured in the same minute
(the difference is the arithmetic that did not overlap with memory).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    if "--minigrad-child" in sys.argv:                 # minigrad alone: torch not even imported
        raise ImportError
    import torch                                       # before minigrad: its OpenMP runtime
    import torch.nn.functional as TF                   # starts with PyTorch's own defaults
except ImportError:                                    # the script still runs without torch
    torch = None

import minigrad as mg                                  # noqa: E402
from minigrad import _kernels                          # noqa: E402
from minigrad.ops.convolution import conv_padding, depthwise_conv, separable_conv   # noqa: E402
import naive_numpy                                     # noqa: E402


CONFIGS = {
    "1D": dict(shape=(32, 1024, 64), kernel=(9,), filters=128),
    "2D": dict(shape=(32, 64, 64, 32), kernel=(3, 3), filters=64),
}


def median_time(fn, repeats, warmup=2):
    return median_times([fn], repeats, warmup)[0]


def median_times(fns, repeats, warmup=2, warmup_seconds=0.1):
    """Median wall time of each function. The functions take turns within every repeat, so
    a change in machine load during the run affects all of them alike (fairer ratios).

    Each function first runs ``warmup`` times and for at least ``warmup_seconds``: a library's
    first calls can be several times slower than its later ones while the C allocator settles
    on where to put the big arrays (PyTorch's 2D forward: 9-10 ms for its first five calls,
    2 ms after). A training loop lives in the settled state, so that is what is timed."""
    for fn in fns:
        calls, end = 0, time.perf_counter() + warmup_seconds
        while calls < warmup or time.perf_counter() < end:
            fn()
            calls += 1
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


# ----------------------------------------------------------------------------------------
# minigrad
# ----------------------------------------------------------------------------------------

def mg_depthwise(x, dk, backward, g):
    xt, kt = mg.Tensor(x), mg.Tensor(dk)
    if not backward:
        return lambda: depthwise_conv(xt, kt, padding="same")

    def step():
        with mg.GradientTape() as tape:
            tape.watch([xt, kt])
            y = depthwise_conv(xt, kt, padding="same")
        return tape.gradient(y, [xt, kt], output_gradients=g)
    return step


def mg_separable(x, dk, pk, b, g):
    ts = [mg.Tensor(a) for a in (x, dk, pk, b)]

    def step():
        with mg.GradientTape() as tape:
            tape.watch(ts)
            y = separable_conv(ts[0], ts[1], ts[2], padding="same", bias=ts[3])
        return tape.gradient(y, ts, output_gradients=g)
    return step


# ----------------------------------------------------------------------------------------
# PyTorch, in NCHW or channels_last memory format
# ----------------------------------------------------------------------------------------

def _torch_layout(a, layout, spatial_rank):
    """channels_last ndarray (N, *spatial, C) -> torch tensor (N, C, [1,] *spatial)."""
    t = torch.from_numpy(np.ascontiguousarray(a))
    if spatial_rank == 1:
        t = t.unsqueeze(1)                 # (N, 1, L, C): 1D runs as 2D with height 1
    t = t.permute(0, 3, 1, 2)              # (N, C, H, W), a channels_last-strided view
    if layout == "nchw":
        return t.contiguous()
    return t.contiguous(memory_format=torch.channels_last)


def _torch_weight(w, layout):
    return w.contiguous() if layout == "nchw" else w.contiguous(memory_format=torch.channels_last)


def _torch_depthwise_weight(dk, spatial_rank):
    """(*k, C, M) -> (C*M, 1, kh, kw), output channel c*M + m as in minigrad."""
    k = dk.reshape((1,) + dk.shape) if spatial_rank == 1 else dk
    kh, kw, C, M = k.shape
    return torch.from_numpy(np.ascontiguousarray(k.transpose(2, 3, 0, 1).reshape(C * M, 1, kh, kw)))


def _torch_pads(shape, ksize, spatial_rank):
    pads = [conv_padding(L, k, 1, 1, "same") for L, k in zip(shape[1:1 + spatial_rank], ksize)]
    if spatial_rank == 1:
        pads = [(0, 0)] + pads
    assert all(b == a for b, a in pads), "benchmark shapes use symmetric 'same' padding"
    return tuple(b for b, _ in pads)


def torch_depthwise(x, dk, backward, g, layout, r):
    C = x.shape[-1]
    xt = _torch_layout(x, layout, r).requires_grad_(backward)
    wt = _torch_weight(_torch_depthwise_weight(dk, r), layout).requires_grad_(backward)
    pad = _torch_pads(x.shape, dk.shape[:r], r)
    gt = _torch_layout(g, layout, r) if backward else None

    def fwd():
        with torch.no_grad():
            return TF.conv2d(xt, wt, padding=pad, groups=C)

    def fwd_bwd():
        xt.grad = wt.grad = None
        y = TF.conv2d(xt, wt, padding=pad, groups=C)
        y.backward(gt)
    return fwd_bwd if backward else fwd


def torch_separable(x, dk, pk, b, g, layout, r):
    C = x.shape[-1]
    xt = _torch_layout(x, layout, r).requires_grad_(True)
    dwt = _torch_weight(_torch_depthwise_weight(dk, r), layout).requires_grad_(True)
    CM, F = pk.shape[-2:]
    pwt = _torch_weight(torch.from_numpy(np.ascontiguousarray(pk.reshape(CM, F).T)).reshape(F, CM, 1, 1),
                        layout).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    pad = _torch_pads(x.shape, dk.shape[:r], r)
    gt = _torch_layout(g, layout, r)

    def fwd_bwd():
        for t in (xt, dwt, pwt, bt):
            t.grad = None
        y = TF.conv2d(TF.conv2d(xt, dwt, padding=pad, groups=C), pwt, bt)
        y.backward(gt)
    return fwd_bwd


# ----------------------------------------------------------------------------------------

def _bytes_moved(kind, x, dk, pk=None):
    """Least bytes a case must move: every array read or written once per pass needing it.

    depthwise forward      read x, write y
    depthwise fwd+bwd      forward + read grad_y and x, write grad_x (one fused pass)
    separable fwd+bwd      depthwise forward (x -> z) + pointwise (z -> y);
                           backward: read grad_y and z, write grad_z; read grad_z and x,
                           write grad_x
    (kernels and biases are small and left out)
    """
    item, C, M = x.dtype.itemsize, dk.shape[-2], dk.shape[-1]
    positions = x.size // C                     # 'same', stride 1: output positions = input
    nx, nz = x.size * item, positions * C * M * item
    if kind == "depthwise fwd":
        return nx + nz
    if kind == "depthwise fwd+bwd":
        return (nx + nz) + (nz + nx + nx)
    ny = positions * pk.shape[-1] * item
    return (nx + nz) + (nz + ny) + (ny + nz + nz) + (nz + nx + nx)


def _floors(rng):
    """For the float32 depthwise cases (forward, and forward+backward), the same calls with a
    kernel of one tap (1 or 1x1): the same bytes read and written through the same op, threads
    and streaming stores with a ninth of the arithmetic, so their time is what memory and the
    calls' machinery cost alone, measured in the same child and minute. The 3x3 (2D) or 9-tap
    (1D) kernel's time above it is arithmetic that did not overlap with memory."""
    out = {}
    for dim, cfg in CONFIGS.items():
        x = rng.standard_normal(cfg["shape"]).astype("float32")
        dk = rng.standard_normal((1,) * len(cfg["kernel"]) + (cfg["shape"][-1], 1)).astype("float32")
        g = rng.standard_normal(cfg["shape"]).astype("float32")
        out[f"{dim} depthwise fwd float32"] = lambda x=x, dk=dk: mg_depthwise(x, dk, False, None)
        out[f"{dim} depthwise fwd+bwd float32"] = lambda x=x, dk=dk, g=g: mg_depthwise(x, dk, True, g)
    return out


FLOOR = " [one-tap kernel]"    # the floors' keys in the minigrad child's timings


def _cases(rng):
    """(name, target, minigrad step, torch NCHW step, torch NHWC step, bytes) for every row."""
    out = []
    for dim, cfg in CONFIGS.items():
        r = len(cfg["kernel"])
        rows = (("depthwise fwd", "float32", False, 0.7, 1), ("depthwise fwd+bwd", "float32", True, 0.5, 1),
                ("depthwise fwd+bwd", "float64", True, 0.2, 1))
        if dim == "2D":
            rows += (("depthwise fwd+bwd", "float32", True, 0.5, 4),)
        for name, dtype, backward, target, M in rows:
            x = rng.standard_normal(cfg["shape"]).astype(dtype)
            dk = rng.standard_normal(cfg["kernel"] + (cfg["shape"][-1], M)).astype(dtype)
            g = rng.standard_normal(cfg["shape"][:-1] + (cfg["shape"][-1] * M,)).astype(dtype)
            label = f"{dim} {name} {dtype}" + (f" M={M}" if M > 1 else "")
            out.append((label, target,
                        lambda x=x, dk=dk, b=backward, g=g: mg_depthwise(x, dk, b, g),
                        lambda x=x, dk=dk, b=backward, g=g, r=r: torch_depthwise(x, dk, b, g, "nchw", r),
                        lambda x=x, dk=dk, b=backward, g=g, r=r: torch_depthwise(x, dk, b, g, "nhwc", r),
                        _bytes_moved(name, x, dk)))
    for dim, dtype, target in (("1D", "float32", 0.8), ("2D", "float32", 0.8), ("2D", "float64", 0.35)):
        cfg = CONFIGS[dim]
        r, C, F = len(cfg["kernel"]), cfg["shape"][-1], cfg["filters"]
        x = rng.standard_normal(cfg["shape"]).astype(dtype)
        dk = rng.standard_normal(cfg["kernel"] + (C, 1)).astype(dtype)
        pk = rng.standard_normal((1,) * r + (C, F)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        g = rng.standard_normal(cfg["shape"][:-1] + (F,)).astype(dtype)
        args = (x, dk, pk, b, g)
        out.append((f"{dim} separable fwd+bwd {dtype}", target,
                    lambda a=args: mg_separable(*a),
                    lambda a=args, r=r: torch_separable(*a, "nchw", r),
                    lambda a=args, r=r: torch_separable(*a, "nhwc", r),
                    _bytes_moved("separable", x, dk, pk)))
    return out


COPY_BANDWIDTH = """
import sys, time, numpy as np
a = np.ones(64 << 20, np.float32); b = np.zeros_like(a)      # 256 MB each, pages touched
seconds = float(sys.argv[1])
if seconds == 0:                     # alone: the best of 7
    best = min((lambda t: (np.copyto(b, a), time.perf_counter() - t)[1])(time.perf_counter())
               for _ in range(7))
else:                                # beside other copies: the median over a stretch of time
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter(); np.copyto(b, a); times.append(time.perf_counter() - t)
    best = sorted(times)[len(times) // 2]
print(2 * a.nbytes / best / 1e9)
"""


def copy_bandwidth(copies=1):
    """GB/s of a 256 MB NumPy copy (read + write) in a child process that does not import
    minigrad: the best of 7. With ``copies`` > 1, that many children copy at the same time
    for two seconds (one per core, as the kernels' threads run), and their medians add up."""
    seconds = "0" if copies == 1 else "2"
    children = [subprocess.Popen([sys.executable, "-c", COPY_BANDWIDTH, seconds],
                                 stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    return sum(float(child.communicate()[0].strip()) for child in children)


def _child_times(who, threads, repeats):
    """Timings of one library alone, from a child process that does not import the other:
    ``who`` is "torch" (PyTorch as users run it, nothing of minigrad's in the process) or
    "minigrad" (no torch imported)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), f"--{who}-child", "--threads", str(threads),
           "--repeats", str(repeats)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of the two 'alone' children (default 3): the "
                             "machine's speed drifts by tens of percent over a minute, so each "
                             "library is timed in every round and the medians are compared")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for both minigrad (OMP_NUM_THREADS) and PyTorch (default 2)")
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--minigrad-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 15)
    rng = np.random.default_rng(0)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)     # read by minigrad's kernels per call
    if torch is not None:
        torch.set_num_threads(args.threads)
    cases = _cases(rng)

    if args.torch_child:                                   # PyTorch only, default allocator
        # PyTorch's big arrays have a slow state (glibc hands them back to the system and
        # every call faults them in again) that it enters or leaves with the order of the
        # calls: alternating the two layouts kept the 2D forward at 8-9 ms instead of 1.5-2,
        # one layout at a time put the 2D training pass at 25 ms instead of 10. So each layout
        # is timed both ways and keeps the faster: the ratios are never flattered by it.
        times = {}
        for name, _, _, nchw, nhwc, _ in cases:
            together = median_times([nchw(), nhwc()], repeats)
            apart = [median_time(nchw(), repeats), median_time(nhwc(), repeats)]
            times[name] = [min(a, b) for a, b in zip(together, apart)]
        print(json.dumps(times))
        return
    if args.minigrad_child:                                # minigrad only, torch not imported
        times = {name: median_time(make_mg(), repeats) for name, _, make_mg, _, _, _ in cases}
        for name, make_floor in _floors(rng).items():
            times[name + FLOOR] = median_time(make_floor(), repeats)
        print(json.dumps(times))
        return

    print(f"minigrad kernels: {_kernels.BACKEND}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch else 'not installed'}; python {platform.python_version()}")
    print(f"cpu: {_cpu_model()}, {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.threads} thread(s); median of {repeats} repeats after warm-up\n")
    if torch is None:
        for name, _, make_mg, _, _ in cases:
            print(f"{name:<34}minigrad {median_time(make_mg(), repeats) * 1e3:.2f} ms")
    else:
        rounds = [(_child_times("torch", args.threads, repeats),
                   _child_times("minigrad", args.threads, repeats)) for _ in range(max(1, args.rounds))]
        default = {name: [statistics.median(r[0][name][i] for r in rounds) for i in (0, 1)]
                   for name in rounds[0][0]}
        alone = {name: statistics.median(r[1][name] for r in rounds) for name in rounds[0][1]}
        spread = {name: [r[1][name] / min(r[0][name]) for r in rounds] for name in rounds[0][0]}
        bandwidth = [copy_bandwidth()]
        print("same process: minigrad and PyTorch timed in turn in this process")
        print("alone:        each in a child process without the other (as users run them)")
        print("ratio = minigrad / faster PyTorch layout; the target is checked on the 'alone' ratio")
        print(f"alone times: median of {len(rounds)} alternating rounds of the two children; "
              "'rounds' = the lowest and highest ratio of one round\n")
        header = (f"{'case':<33}| {'same process':^35}{'ratio':>6} | "
                  f"{'alone':^35}{'ratio':>6}  {'rounds':^11}  target")
        sub = (f"{'':<33}| {'minigrad':>10}{'NCHW':>12}{'NHWC':>13}{'':>6} | "
               f"{'minigrad':>10}{'NCHW':>12}{'NHWC':>13}")
        print(header)
        print(sub)
        print("-" * len(header))
        moved = []
        for name, target, make_mg, make_nchw, make_nhwc, nbytes in cases:
            t_mg, t_nchw, t_nhwc = median_times([make_mg(), make_nchw(), make_nhwc()], repeats)
            d_nchw, d_nhwc = default[name]
            a_mg = alone[name]
            same, apart = t_mg / min(t_nchw, t_nhwc), a_mg / min(d_nchw, d_nhwc)
            ok = "ok" if apart <= target else "MISSED"
            print(f"{name:<33}| {t_mg * 1e3:>8.2f}ms{t_nchw * 1e3:>10.2f}ms{t_nhwc * 1e3:>11.2f}ms"
                  f"{same:>6.2f} | {a_mg * 1e3:>8.2f}ms{d_nchw * 1e3:>10.2f}ms{d_nhwc * 1e3:>11.2f}ms"
                  f"{apart:>6.2f}  {min(spread[name]):>4.2f}-{max(spread[name]):<4.2f}  <={target} {ok}",
                  flush=True)
            moved.append((name, nbytes, a_mg))
        bandwidth.append(copy_bandwidth())                 # once before and once after the cases
        bw, bw_all = max(bandwidth), copy_bandwidth(args.threads)
        print(f"\nmemory: copy bandwidth {bandwidth[0]:.1f} GB/s before the cases, {bandwidth[1]:.1f} "
              f"after (child process, 256 MB np.copyto, read + write); fractions use {bw:.1f}")
        print(f"        {args.threads} copies at once (one child per thread, median over 2 s each): "
              f"{bw_all:.1f} GB/s in all; 'of all' is the fraction of that")
        print(f"{'case':<33}{'bytes moved':>12}{'at copy bw':>12}{'minigrad':>10}{'fraction':>10}"
              f"{'of all':>8}   (minigrad alone)")
        for name, nbytes, t_mg in moved:
            floor = nbytes / (bw * 1e9)
            target = "  (target >= 0.50)" if name == "2D depthwise fwd+bwd float32" else ""
            print(f"{name:<33}{nbytes / 1e6:>10.1f}MB{floor * 1e3:>10.2f}ms{t_mg * 1e3:>8.2f}ms"
                  f"{floor / t_mg:>10.2f}{nbytes / (bw_all * 1e9) / t_mg:>8.2f}{target}")
            if name + FLOOR in alone:
                t_one_tap = alone[name + FLOOR]
                print(f"{'  same bytes, one-tap kernel':<33}{nbytes / 1e6:>10.1f}MB"
                      f"{floor * 1e3:>10.2f}ms{t_one_tap * 1e3:>8.2f}ms{floor / t_one_tap:>10.2f}"
                      f"{nbytes / (bw_all * 1e9) / t_one_tap:>8.2f}  (the full kernel's "
                      f"arithmetic adds {(t_mg - t_one_tap) * 1e3:.2f} ms)")

    print("\nminigrad vs naive NumPy (loop over output positions and taps), depthwise fwd+bwd float32:")
    for dim, cfg in CONFIGS.items():
        r = len(cfg["kernel"])
        x = rng.standard_normal(cfg["shape"]).astype("float32")
        dk = rng.standard_normal(cfg["kernel"] + (cfg["shape"][-1], 1)).astype("float32")
        g = rng.standard_normal(cfg["shape"]).astype("float32")
        pads = tuple(conv_padding(L, k, 1, 1, "same") for L, k in zip(x.shape[1:1 + r], cfg["kernel"]))
        geometry = ((1,) * r, (1,) * r, pads)

        def naive():
            naive_numpy.depthwise_forward(x, dk, *geometry)
            naive_numpy.depthwise_backward(x, dk, g, *geometry)

        twin = _kernels.get_backend("numpy")

        def twins():
            twin.depthwise_forward(x, dk, *geometry)
            twin.depthwise_backward_input(g, dk, x.shape, *geometry)
            twin.depthwise_backward_kernel(x, g, dk.shape, *geometry)

        t_mg = median_time(mg_depthwise(x, dk, True, g), repeats)
        t_naive = median_time(naive, 1, warmup=0)
        t_twin = median_time(twins, 3, warmup=1)
        speedup = t_naive / t_mg
        print(f"  {dim}: minigrad {t_mg * 1e3:.2f} ms, naive NumPy {t_naive * 1e3:.0f} ms "
              f"({speedup:.0f}x, target >= 20x {'ok' if speedup >= 20 else 'MISSED'}); "
              f"NumPy twin (loop over taps) {t_twin * 1e3:.0f} ms ({t_twin / t_mg:.1f}x)", flush=True)


def _cpu_model():
    """The CPU's name, its widest vector extension and its per-core caches (Linux), e.g.
    "AMD EPYC (AVX2; L1d 32K, L2 512K per core)"; the kernels' speed depends on all three."""
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        return model
    vector = next((name.upper() for name in ("avx512f", "avx2", "avx", "sse2") if name in flags), "")
    caches = []
    for index, label in ((0, "L1d"), (2, "L2")):
        try:
            with open(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size") as f:
                caches.append(f"{label} {f.read().strip()}")
        except OSError:
            pass
    details = "; ".join(part for part in (vector.replace("AVX512F", "AVX-512"),
                                          ", ".join(caches) + " per core" if caches else "") if part)
    return f"{model} ({details})" if details else model


if __name__ == "__main__":
    main()
