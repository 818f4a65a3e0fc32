"""Where a minigrad training step spends its time: CPU time per op and per layer.

    python benchmarks/profile_training.py                 # the small MobileNetV2, 30 steps
    python benchmarks/profile_training.py --steps 60 --top 15

Each step is the one ``fit`` runs (forward and loss inside a ``GradientTape``, the
gradient, the optimizer update), taken apart on the tape's own entries:

* forward: the time from one recorded op to the next is charged to the later one (the
  op's computation and the Python around it in its layer; a layer's work after its last
  op, such as BatchNormalization's moving averages, lands on the next op);
* backward: the tape's walk is a generator over its entries; the time between two of
  them is that entry's backward (its gradient function and the accumulation of the
  gradients it sends);
* optimizer: ``apply_gradients``; the rest of the step (starting the tape, handing the
  gradients back, freeing the tape) is "tape overhead".

Times are the main thread's CPU time (``time.thread_time``) with the compiled kernels on
one thread, so the other processes of a shared machine disturb them little. Entries are
labelled with the layer that recorded them (the tape knows it) and grouped by op and by
layer type.
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigrad as mg  # noqa: E402
from minigrad import datasets, losses, optimizers  # noqa: E402
from minigrad.demo import mobilenet_model  # noqa: E402
from minigrad.heap import keep_heap  # noqa: E402
from minigrad.threads import limit_blas_threads, limit_kernel_threads  # noqa: E402


class _Stamped(list):
    """A tape's entry list that notes the CPU time of every append."""

    def __init__(self):
        super().__init__()
        self.stamps = [time.thread_time()]

    def append(self, entry):
        super().append(entry)
        self.stamps.append(time.thread_time())


def profile_steps(model, x, y, batch_size, steps):
    """{(phase, op, layer type): seconds} (with ``.by_layer``: {layer name: seconds}) and
    {"optimizer"/"tape overhead"/"step": seconds}, summed over ``steps`` training steps of
    ``model`` (compiled) on the first batches of x, y."""
    costs = collections.Counter()
    totals = collections.Counter()
    by_layer = collections.Counter()
    kinds = {layer.name: type(layer).__name__ for layer in model.layers}
    loss_fn = model.loss
    n = len(x) // batch_size
    with limit_kernel_threads(1), limit_blas_threads(), keep_heap():   # as in fit
        for step in range(steps):
            i = step % n
            xb, yb = x[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size]
            start = time.thread_time()
            with mg.GradientTape() as tape:
                tape._entries = entries = _Stamped()
                loss = loss_fn(yb, model(xb, training=True))
            for e, t0, t1 in zip(entries, entries.stamps, entries.stamps[1:]):
                costs["forward", e.op, kinds.get(e.layer, "(loss)")] += t1 - t0
                by_layer[e.layer or "(loss)"] += t1 - t0
            weights = model.trainable_weights
            keep = {id(w) for w in weights}
            grads = {}
            t0 = time.thread_time()
            for entry, _, _ in tape._walk(grads, loss, None, keep, False):
                t1 = time.thread_time()
                costs["backward", entry.op, kinds.get(entry.layer, "(loss)")] += t1 - t0
                by_layer[entry.layer or "(loss)"] += t1 - t0
                t0 = t1
            tape._finish()
            gradients = [grads.get(id(w)) for w in weights]
            t0 = time.thread_time()
            model.optimizer.apply_gradients(zip(gradients, weights))
            t1 = time.thread_time()
            totals["optimizer"] += t1 - t0
            totals["step"] += t1 - start
    totals["tape overhead"] = totals["step"] - totals["optimizer"] - sum(costs.values())
    costs.by_layer = by_layer
    return costs, totals


def report(costs, totals, steps, top=12, print_fn=print):
    """Print the top (op, phase) costs, the costs per layer type, and the step's parts."""
    step = totals["step"]
    ms = 1e3 / steps
    print_fn(f"minigrad training step, CPU time (1 kernel thread, mean of {steps} steps): "
             f"{step * ms:.2f} ms")
    print_fn(f"  {'phase':9}{'op':22}{'layer type':22}{'ms/step':>9}{'share':>7}")
    for (phase, op, kind), t in costs.most_common(top):
        print_fn(f"  {phase:9}{op:22}{kind:22}{t * ms:>9.2f}{t / step:>7.1%}")
    for name in ("optimizer", "tape overhead"):
        print_fn(f"  {name:53}{totals[name] * ms:>9.2f}{totals[name] / step:>7.1%}")
    by_kind = collections.Counter()
    for (phase, _, kind), t in costs.items():
        by_kind[kind] += t
    print_fn("  per layer type (forward + backward): " + ", ".join(
        f"{kind} {t / step:.0%}" for kind, t in by_kind.most_common()))
    print_fn("  costliest layers (forward + backward): " + ", ".join(
        f"{name} {t * ms:.2f} ms" for name, t in costs.by_layer.most_common(top)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    mg.set_random_seed(0)
    (x, y), _ = datasets.load_digits(seed=0)
    model = mobilenet_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    profile_steps(model, x, y, args.batch_size, 3)               # warm-up
    costs, totals = profile_steps(model, x, y, args.batch_size, args.steps)
    print(f"load average {os.getloadavg()[0]:.2f}")
    report(costs, totals, args.steps, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
