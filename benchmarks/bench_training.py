"""One training epoch: minigrad ``fit`` against the same model in PyTorch (and Keras 3).

Two models, each in one section of the output (``--model demo|mobilenet|both``):

**demo**: the model ``python -m minigrad demo`` trains (``minigrad.demo.digits_model``);
the PyTorch twin is built layer by layer from it with the *same initial weights*:

    SeparableConv2D  ->  Conv2d(C, C*M, k, groups=C, bias=False) + Conv2d(C*M, F, 1) + act
    Flatten          ->  permute to channels_last, then flatten (same feature order)
    Dense            ->  Linear (+ act)
    MaxPooling2D / GlobalAveragePooling2D -> MaxPool2d / mean over H, W

so both compute the same function (checked before timing: the logits must agree). Both
train on the bundled digits with the same batch size, the same optimizer (SGD with
momentum) and the same loss (cross-entropy on logits), on the same machine, in one run.
An epoch is timed end to end: minigrad through ``model.fit(..., epochs=1)`` (what a user
runs), PyTorch through the usual loop (shuffle, forward, loss, zero_grad, backward,
step). Reported: best and median epoch time over ``--repeat`` epochs, and the ratio
minigrad / PyTorch (below 1: minigrad is faster).

**mobilenet**: the small MobileNetV2 of ``python -m minigrad mobilenet``
(``minigrad.demo.mobilenet_model``: inverted residual blocks, BatchNormalization, ReLU6,
``Add`` skips) in minigrad (``fit``), PyTorch (a plain loop, in NCHW and in channels_last;
the ratio uses the faster) and Keras 3 on the torch backend (``fit``; skipped when Keras is
absent or on another backend). The twins (``twins.py``) get minigrad's initial weights;
every contender trains on the same batches (one shuffle per repeat, then ``shuffle=False``)
with SGD(0.05, momentum 0.9) and sparse cross-entropy from logits. Before timing, a float64
copy trains one epoch in minigrad and PyTorch from the same weights: the losses and the
trained weights must agree to 1e-6 (they do to ~1e-15); the float32 epoch losses of all
contenders are printed too (they drift apart by about 1%: ReLU6 kinks flip on float32
rounding and the steps amplify it). The contenders take turns within every repeat.
Ratios are medians, minigrad / other; the issue's targets are <= 0.7 (PyTorch) and
<= 0.3 (Keras), checked on the times of each contender alone: minigrad in a child process
without torch or Keras, PyTorch and Keras in a child that loads torch before minigrad, in
the user's environment; the two children take turns over ``--rounds`` rounds (default 3)
and the medians pool the rounds' epochs. (Until 2026-11-30 minigrad's import set
``OMP_WAIT_POLICY=PASSIVE``, which made PyTorch about 3x slower in this process; minigrad's
kernels now have their own threads and set nothing, and the children stay: each contender
runs alone there.)

    python benchmarks/bench_training.py                    # both models, ~2 minutes
    python benchmarks/bench_training.py --model mobilenet --quick
    python benchmarks/bench_training.py --batch-size 64 --repeat 7 --threads 1

Needs ``pip install torch==2.13.0`` (and ``keras`` for the Keras column, which is Keras on
torch: ``KERAS_BACKEND`` is set to ``torch`` unless it is set already). The machine may be shared: compare ratios from the same run, read the load
average printed with them, and run it more than once.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

# PyTorch and Keras are also timed in a child process that loads torch before minigrad, in
# the environment the user had: as users run them (see _torch_alone).
if "--torch-alone-child" in sys.argv:
    import torch  # noqa: F401

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minigrad as mg  # noqa: E402
from minigrad import datasets, layers, losses, optimizers  # noqa: E402
from minigrad.demo import digits_model, digits_optimizer, mobilenet_model  # noqa: E402


def torch_twin(model, torch):
    """A torch.nn.Sequential computing the same function as ``model``, same weights."""
    nn = torch.nn
    activations = {"relu": nn.ReLU, "linear": None, None: None}

    def act(layer):
        name = getattr(layer.activation, "__name__", None) if hasattr(layer, "activation") \
            else None
        if name not in activations:
            raise NotImplementedError(f"activation {name!r} has no twin here")
        return [activations[name]()] if activations[name] else []

    class ChannelsLastFlatten(nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    class GlobalAverage(nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))

    modules = []
    with torch.no_grad():
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "SeparableConv2D":
                dk, pk = layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()
                kh, kw, c, m = dk.shape
                f = pk.shape[-1]
                if layer.padding != "same" and layer.padding != "valid":
                    raise NotImplementedError(layer.padding)
                pad = (kh // 2, kw // 2) if layer.padding == "same" else 0
                depthwise = nn.Conv2d(c, c * m, (kh, kw), groups=c, bias=False, padding=pad,
                                      stride=layer.strides, dilation=layer.dilation_rate)
                # torch's output channel c*M + m is minigrad's (c, m): same channel order.
                depthwise.weight.copy_(torch.from_numpy(
                    dk.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw).copy()))
                pointwise = nn.Conv2d(c * m, f, 1, bias=layer.use_bias)
                pointwise.weight.copy_(torch.from_numpy(
                    pk.reshape(c * m, f).T.reshape(f, c * m, 1, 1).copy()))
                if layer.use_bias:
                    pointwise.bias.copy_(torch.from_numpy(layer.bias.numpy()))
                modules += [depthwise, pointwise] + act(layer)
            elif kind == "Flatten":
                modules.append(ChannelsLastFlatten())
            elif kind == "MaxPooling2D":
                modules.append(nn.MaxPool2d(layer.pool_size, layer.strides))
            elif kind == "GlobalAveragePooling2D":
                modules.append(GlobalAverage())
            elif kind == "Dense":
                k = layer.kernel.numpy()
                linear = nn.Linear(k.shape[0], k.shape[1], bias=layer.use_bias)
                linear.weight.copy_(torch.from_numpy(k.T.copy()))
                if layer.use_bias:
                    linear.bias.copy_(torch.from_numpy(layer.bias.numpy()))
                modules += [linear] + act(layer)
            else:
                raise NotImplementedError(f"no PyTorch twin for {kind}")
    return nn.Sequential(*modules)


def time_minigrad(model, x, y, batch_size, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
        times.append(time.perf_counter() - start)
    return times


def time_torch(net, torch, x, y, batch_size, repeat, lr, momentum, seed):
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())        # NCHW
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            index = order[i:i + batch_size]
            loss = loss_fn(net(xt[index]), yt[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def step_breakdown(model, x, y, batch_size, steps=20):
    """Mean ms per phase of a minigrad training step (forward+loss, backward, update)."""
    loss_fn = model.loss
    xb, yb = x[:batch_size], y[:batch_size]
    phases = {"forward+loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    for _ in range(steps):
        t0 = time.perf_counter()
        with mg.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        t1 = time.perf_counter()
        grads = tape.gradient(loss, model.trainable_weights)
        t2 = time.perf_counter()
        model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
        t3 = time.perf_counter()
        phases["forward+loss"] += t1 - t0
        phases["backward"] += t2 - t1
        phases["optimizer"] += t3 - t2
    return {k: v / steps * 1e3 for k, v in phases.items()}


def demo_epoch(args, torch):
    """The demo model's epoch: minigrad, then PyTorch on its default threads and on 1."""
    mg.set_random_seed(args.seed)
    (x, y), _ = datasets.load_digits(seed=args.seed)
    model = digits_model()
    model.compile(optimizer=digits_optimizer(),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    net = torch_twin(model, torch)
    with torch.no_grad():
        ours = model.predict(x[:64], verbose=0)
        theirs = net(torch.from_numpy(x[:64].transpose(0, 3, 1, 2).copy())).numpy()
    worst = float(np.abs(ours - theirs).max())
    if worst > 1e-3:
        print(f"the PyTorch twin does not compute the same logits (max diff {worst:.2e})")
        return 1
    opt = model.optimizer

    print("== demo model (SeparableConv2D), one epoch ==")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"minigrad kernels: {mg._kernels.BACKEND if hasattr(mg, '_kernels') else '?'}")
    print(f"model: {model.name}, {model.count_params():,} params; data: {len(x)} digits "
          f"(8x8x1); batch size {args.batch_size}; {-(-len(x) // args.batch_size)} steps "
          f"per epoch; logits agree to {worst:.1e}")
    # Warm up both (first-call costs: imports, allocations, thread pools).
    model.fit(x[:args.batch_size * 2], y[:args.batch_size * 2],
              batch_size=args.batch_size, verbose=0)
    time_torch(net, torch, x[:args.batch_size * 2], y[:args.batch_size * 2],
               args.batch_size, 1, float(opt.learning_rate), float(opt.momentum), args.seed)

    ours = time_minigrad(model, x, y, args.batch_size, args.repeat)
    lr, momentum = float(opt.learning_rate), float(opt.momentum)
    default_threads = torch.get_num_threads()
    runs = {f"pytorch/{default_threads}t": time_torch(net, torch, x, y, args.batch_size,
                                                      args.repeat, lr, momentum, args.seed)}
    if default_threads != 1:
        torch.set_num_threads(1)
        runs["pytorch/1t"] = time_torch(net, torch, x, y, args.batch_size, args.repeat, lr,
                                        momentum, args.seed)
        torch.set_num_threads(default_threads)
    print(f"{'':12}{'best epoch':>12}{'median':>10}{'per step':>11}")
    steps = -(-len(x) // args.batch_size)
    for name, t in [("minigrad", ours)] + list(runs.items()):
        print(f"{name:12}{min(t):>11.3f}s{statistics.median(t):>9.3f}s"
              f"{min(t) / steps * 1e3:>9.2f}ms")
    best_name = min(runs, key=lambda k: min(runs[k]))
    theirs = runs[best_name]
    print(f"ratio minigrad / {best_name} (the faster PyTorch): "
          f"{min(ours) / min(theirs):.2f} (best), "
          f"{statistics.median(ours) / statistics.median(theirs):.2f} (median)")
    limit = getattr(getattr(mg, "threads", None), "limit_blas_threads", None)
    if limit is None:
        try:
            from minigrad.threads import limit_blas_threads as limit
        except ImportError:
            import contextlib
            limit = contextlib.nullcontext
    with limit():                       # as inside fit
        parts = step_breakdown(model, x, y, args.batch_size)
    print("minigrad step breakdown: " + ", ".join(f"{k} {v:.2f} ms" for k, v in parts.items()))
    return 0


# ----------------------------------------------------------------------------------------
# The small MobileNetV2 (minigrad.demo.mobilenet_model): minigrad vs PyTorch vs Keras 3
# ----------------------------------------------------------------------------------------

class MinigradRun:
    def __init__(self, model):
        self.model = model

    def epoch(self, x, y, batch_size):
        history = self.model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0,
                                 shuffle=False)
        return history.history["loss"][-1]

    def weights(self):
        return [w.numpy() for w in self.model.trainable_weights]


class TorchRun:
    """The plain PyTorch loop: forward, loss, zero_grad, backward, step, per batch."""

    def __init__(self, net, torch, layout, lr, momentum, threads=None):
        self.torch, self.layout, self.threads = torch, layout, threads
        self.format = torch.channels_last if layout == "channels_last" else \
            torch.contiguous_format
        self.net = net.to(memory_format=self.format)
        self.net.train()
        self.opt = torch.optim.SGD(self.net.parameters(), lr=lr, momentum=momentum)
        self.loss = torch.nn.CrossEntropyLoss()

    def epoch(self, x, y, batch_size):
        if self.threads is None:
            return self._epoch(x, y, batch_size)
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(self.threads)
        try:
            return self._epoch(x, y, batch_size)
        finally:
            self.torch.set_num_threads(threads)

    def _epoch(self, x, y, batch_size):
        xt = self.torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=self.format)
        yt = self.torch.from_numpy(y).long()
        total = 0.0
        for i in range(0, len(xt), batch_size):
            xb, yb = xt[i:i + batch_size], yt[i:i + batch_size]
            loss = self.loss(self.net(xb), yb)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            total += float(loss.detach()) * len(yb)
        return total / len(xt)

    def weights(self):
        from twins import torch_weights
        return torch_weights(self.net)


class KerasRun:
    def __init__(self, model, keras, lr, momentum):
        self.model = model
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=momentum),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def epoch(self, x, y, batch_size):
        history = self.model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0,
                                 shuffle=False)
        return history.history["loss"][-1]

    def weights(self):
        return [np.asarray(w.numpy()) for w in self.model.trainable_weights]


def _keras_or_none(args):
    if args.no_keras:
        return None
    # Keras 3 picks its backend at import, TensorFlow unless told: the Keras column is Keras
    # on torch, so that is the default here (an explicit KERAS_BACKEND is kept)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as error:
        print(f"Keras could not be imported ({error}; pip install keras): no Keras column")
        return None
    if keras.backend.backend() != "torch":
        print(f"Keras runs on {keras.backend.backend()!r}, not torch "
              "(set KERAS_BACKEND=torch): no Keras column")
        return None
    return keras


def agreement_float64(model, torch, x, y, batch_size, lr, momentum):
    """Train the float64 copy of ``model`` (same initial weights) one epoch in minigrad and
    in PyTorch on the same batches; print how closely losses and weights agree."""
    from twins import TorchGraph
    mg.config.set_floatx("float64")
    try:
        twin = mobilenet_model()
    finally:
        mg.config.set_floatx("float32")
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    twin.compile(optimizer=optimizers.SGD(learning_rate=lr, momentum=momentum),
                 loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    ours, theirs = MinigradRun(twin), TorchRun(TorchGraph(twin, torch), torch, "nchw", lr,
                                               momentum)
    x = x.astype(np.float64)
    losses_ = [run.epoch(x, y, batch_size) for run in (ours, theirs)]
    a, b = ours.weights(), theirs.weights()
    drift = max(float(np.abs(u - v).max()) for u, v in zip(a, b)) / \
        max(float(np.abs(u).max()) for u in a)
    gap = abs(losses_[1] / losses_[0] - 1)
    print(f"float64 check, one epoch from the same weights on the same batches: epoch loss "
          f"minigrad {losses_[0]:.10f}, pytorch {losses_[1]:.10f} (relative gap {gap:.1e}); "
          f"trained weights differ by at most {drift:.1e} of the largest weight")
    if gap > 1e-6 or drift > 1e-6:
        print("  minigrad and PyTorch do NOT train the same model")
        return 1
    return 0


def _mobilenet_data_and_model(args):
    """The digits (480 of them with --quick) and the small MobileNetV2 with the seed's initial
    weights: the same in this process and in the children that time one contender alone."""
    mg.set_random_seed(args.seed)
    (x, y), _ = datasets.load_digits(seed=args.seed)
    if args.quick:
        x, y = x[:480], y[:480]
    return x, y, mobilenet_model()


def mobilenet_epoch(args, torch):
    """One epoch of the small MobileNetV2 in minigrad (fit), PyTorch (a plain loop, NCHW and
    channels_last) and Keras 3 on torch (fit): same weights, batches, optimizer and loss."""
    from twins import TorchGraph, keras_twin
    keras = _keras_or_none(args)
    x, y, model = _mobilenet_data_and_model(args)
    lr, momentum, bs = 0.05, 0.9, args.batch_size
    model.compile(optimizer=optimizers.SGD(learning_rate=lr, momentum=momentum),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    runs = {"minigrad": MinigradRun(model)}
    for layout in ("nchw", "channels_last"):
        runs[f"pytorch/{layout}"] = TorchRun(TorchGraph(model, torch), torch, layout, lr,
                                             momentum)
    if args.threads != 1:             # for reference: on a busy machine one thread can win
        runs["pytorch/nchw/1t"] = TorchRun(TorchGraph(model, torch), torch, "nchw", lr,
                                           momentum, threads=1)
    if keras is not None:
        runs["keras/torch"] = KerasRun(keras_twin(model, keras), keras, lr, momentum)
    steps = -(-len(x) // bs)
    print(f"\n== {model.name} ({model.count_params():,} params, {len(model.layers)} layers), "
          f"one epoch: {len(x)} digits (8x8x1), batch size {bs}, {steps} steps; SGD(lr {lr}, "
          f"momentum {momentum}), sparse cross-entropy from logits ==")

    # Agreement (and warm-up): one epoch each from the same initial weights, same batches.
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    status = agreement_float64(model, torch, x[order], y[order], bs, lr, momentum)
    first = {name: run.epoch(x[order], y[order], bs) for name, run in runs.items()}
    print("float32 (the timed setup), epoch loss after one epoch: " + ", ".join(
        f"{name} {loss:.5f}" for name, loss in first.items()) + "; largest gap to minigrad "
        f"{max(abs(v / first['minigrad'] - 1) for v in first.values()):.1e} (ReLU6 kinks "
        "flip on float32 rounding and the steps amplify it; float64 above is the exact check)")
    if max(abs(v / first["minigrad"] - 1) for v in first.values()) > 0.05:
        print("  the float32 epoch losses differ by more than 5%")
        status = 1

    # Timed epochs: the contenders take turns in every repeat (the start rotates), each on
    # the same freshly shuffled batches.
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.repeat):
        order = rng.permutation(len(x))
        xs, ys = x[order], y[order]
        for name in names[r % len(names):] + names[:r % len(names)]:
            start, cpu_start = time.perf_counter(), time.process_time()
            runs[name].epoch(xs, ys, bs)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    # CPU time (all threads of the process) is printed beside the wall time: on a shared
    # machine the scheduler gives a process with two busy threads about twice the share of
    # one with one, so wall-time ratios under load favour the two-threaded contender.
    print(f"{'':22}{'median epoch':>13}{'best':>9}{'per step':>10}{'CPU time':>10}   (load "
          f"average {os.getloadavg()[0]:.2f})")
    for name, t in times.items():
        print(f"{name:22}{statistics.median(t):>12.3f}s{min(t):>8.3f}s"
              f"{statistics.median(t) / steps * 1e3:>8.2f}ms{statistics.median(cpu[name]):>9.3f}s")
    med = {name: statistics.median(t) for name, t in times.items()}
    torch_best = min((n for n in med if n.startswith("pytorch") and not n.endswith("/1t")),
                     key=med.get)
    ratio = med["minigrad"] / med[torch_best]
    print(f"ratio minigrad / {torch_best} (the faster layout, {args.threads} threads): "
          f"{ratio:.2f} (median, in this process; the target is checked alone, below)")
    if "pytorch/nchw/1t" in med and med["pytorch/nchw/1t"] < med[torch_best]:
        print(f"  (PyTorch on 1 thread was faster here: ratio "
              f"{med['minigrad'] / med['pytorch/nchw/1t']:.2f})")
    cpu_med = {name: statistics.median(t) for name, t in cpu.items()}
    print(f"CPU-time ratios (median): minigrad / {torch_best} "
          f"{cpu_med['minigrad'] / cpu_med[torch_best]:.2f}" + "".join(
              f", minigrad / {n} {cpu_med['minigrad'] / cpu_med[n]:.2f}"
              for n in ("pytorch/nchw/1t", "keras/torch") if n in cpu_med))
    if "keras/torch" in med:
        ratio = med["minigrad"] / med["keras/torch"]
        print(f"ratio minigrad / keras/torch: {ratio:.2f} (median, in this process; the target "
              "is checked alone, below)")
    # The alone children take turns over --rounds rounds (each round: minigrad's child, then
    # PyTorch's and Keras's), so that a slow stretch of a shared machine falls on both sides
    # instead of on whichever child ran during it; the medians pool every round's epochs.
    rounds = [(_child(args, "--alone-child", "minigrad alone"), _torch_alone(args))
              for _ in range(max(1, args.rounds))]
    mine = [a for a, _ in rounds if a is not None]
    theirs = [o for _, o in rounds if o]
    alone = {"wall": [t for a in mine for t in a["wall"]],
             "cpu": [t for a in mine for t in a["cpu"]]} if mine else None
    others = {name: {"wall": [t for o in theirs for t in o[name]["wall"]]}
              for name in theirs[0]} if theirs else None
    if alone is not None:
        wall, cpu_alone = statistics.median(alone["wall"]), statistics.median(alone["cpu"])
        print(f"minigrad alone (child processes without torch or Keras, run after the table): "
              f"median epoch {wall:.3f}s, CPU {cpu_alone:.3f}s; ratios with the table's medians: "
              f"/ {torch_best} {wall / med[torch_best]:.2f}" + (
                  f", / keras/torch {wall / med['keras/torch']:.2f}" if "keras/torch" in med
                  else ""))
    if others:
        alone_med = {name: statistics.median(t["wall"]) for name, t in others.items()}
        best = min((n for n in alone_med if n.startswith("pytorch")), key=alone_med.get)
        print("PyTorch and Keras alone (a child process that loaded torch before minigrad, with "
              "the user's OpenMP settings): " + ", ".join(
                  f"{n} {t:.3f}s" for n, t in alone_med.items()))
    if alone is not None and others:
        wall = statistics.median(alone["wall"])
        per_round = [statistics.median(a["wall"]) / statistics.median(o[best]["wall"])
                     for a, o in rounds if a is not None and o]
        print(f"alone ratios (the targets; medians over {len(rounds)} alternating rounds): "
              f"minigrad / {best} {wall / alone_med[best]:.2f} "
              f"(target <= 0.7: {'ok' if wall / alone_med[best] <= 0.7 else 'MISSED'}; "
              f"rounds {min(per_round):.2f}-{max(per_round):.2f})" + (
                  f", minigrad / keras/torch {wall / alone_med['keras/torch']:.2f} (target "
                  f"<= 0.3: {'ok' if wall / alone_med['keras/torch'] <= 0.3 else 'MISSED'})"
                  if "keras/torch" in alone_med else ""))
    return status


def _torch_alone(args):
    """PyTorch's (and Keras's) epochs in a child process where torch is loaded before
    minigrad, in the user's environment."""
    return _child(args, "--torch-alone-child", "PyTorch alone", dict(os.environ))


def _child(args, flag, what, env=None):
    """Run this script with ``flag`` (a child that prints its epoch times as JSON)."""
    import json
    import subprocess
    command = [sys.executable, os.path.abspath(__file__), flag, "--batch-size",
               str(args.batch_size), "--repeat", str(args.repeat), "--seed", str(args.seed),
               "--threads", str(args.threads)] + (["--quick"] if args.quick else []) + (
                   ["--no-keras"] if args.no_keras else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError) as error:
        print(f"{what}: the child process failed ({error})")
        return None


def torch_alone_child(args):
    """The child of :func:`_torch_alone`: PyTorch in both layouts and Keras on torch, on the
    same model, data, batches and warm-up epoch as in :func:`mobilenet_epoch`, taking turns;
    prints {name: {"wall": [...], "cpu": [...]}} as JSON."""
    import json
    import torch
    from twins import TorchGraph, keras_twin
    if args.threads:
        torch.set_num_threads(args.threads)
    keras = _keras_or_none(args)
    x, y, model = _mobilenet_data_and_model(args)
    lr, momentum, bs = 0.05, 0.9, args.batch_size
    runs = {f"pytorch/{layout}": TorchRun(TorchGraph(model, torch), torch, layout, lr, momentum)
            for layout in ("nchw", "channels_last")}
    if keras is not None:
        runs["keras/torch"] = KerasRun(keras_twin(model, keras), keras, lr, momentum)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    for run in runs.values():
        run.epoch(x[order], y[order], bs)                             # warm-up
    times = {name: {"wall": [], "cpu": []} for name in runs}
    names = list(runs)
    for r in range(args.repeat):
        order = rng.permutation(len(x))
        for name in names[r % len(names):] + names[:r % len(names)]:
            start, cpu_start = time.perf_counter(), time.process_time()
            runs[name].epoch(x[order], y[order], bs)
            times[name]["wall"].append(time.perf_counter() - start)
            times[name]["cpu"].append(time.process_time() - cpu_start)
    print(json.dumps(times))
    return 0


def alone_child(args):
    """minigrad's epochs timed in a child process that imports neither torch nor Keras: what
    a user running minigrad alone gets (in the parent the other frameworks' allocations
    change glibc's heap thresholds, and with them minigrad's page faults). The same model,
    data, batches and warm-up epoch as in :func:`mobilenet_epoch`; prints {"wall": [...],
    "cpu": [...]} as JSON."""
    import json
    x, y, model = _mobilenet_data_and_model(args)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    run = MinigradRun(model)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    run.epoch(x[order], y[order], args.batch_size)                    # warm-up
    wall, cpu = [], []
    for _ in range(args.repeat):
        order = rng.permutation(len(x))
        xs, ys = x[order], y[order]
        start, cpu_start = time.perf_counter(), time.process_time()
        run.epoch(xs, ys, args.batch_size)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    print(json.dumps({"wall": wall, "cpu": cpu}))
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("demo", "mobilenet", "both"), default="both",
                        help="which epoch to time (default both)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=None,
                        help="epochs timed per framework (default 5; 3 with --quick)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch.set_num_threads (default 2, the cores minigrad's "
                             "kernels use); the demo epoch also times PyTorch on 1 thread")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, and the MobileNetV2 epoch on 480 images")
    parser.add_argument("--no-keras", action="store_true",
                        help="leave Keras out of the MobileNetV2 epoch")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of the MobileNetV2 'alone' children (default 3): "
                             "a shared machine's speed drifts by tens of percent over a minute")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alone-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--torch-alone-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.alone_child:
        return alone_child(args)
    if args.torch_alone_child:
        return torch_alone_child(args)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0")
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; load average "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f"; python "
          f"{platform.python_version()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    status = 0
    if args.model in ("demo", "both"):
        status |= demo_epoch(args, torch)
    if args.model in ("mobilenet", "both"):
        status |= mobilenet_epoch(args, torch)
    print(f"load average at the end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return status


if __name__ == "__main__":
    sys.exit(main())
