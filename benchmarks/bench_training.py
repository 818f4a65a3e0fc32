"""One training epoch of the demo model: minigrad ``fit`` against the same model in PyTorch.

The model is the one ``python -m minigrad demo`` trains (``minigrad.demo.digits_model``);
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

    python benchmarks/bench_training.py
    python benchmarks/bench_training.py --batch-size 64 --repeat 7 --threads 1

Needs ``pip install torch==2.13.0``. The machine may be shared: compare ratios from the
same run, and run it more than once.
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
from minigrad import datasets, layers, losses  # noqa: E402
from minigrad.demo import digits_model, digits_optimizer  # noqa: E402


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5, help="epochs timed per framework")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for the main PyTorch run (default: "
                             "torch's own choice); PyTorch is also timed on 1 thread and "
                             "the ratio uses the faster of the two")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0")
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)

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


if __name__ == "__main__":
    sys.exit(main())
