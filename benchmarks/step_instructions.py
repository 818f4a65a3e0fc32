"""Instructions per MobileNetV2 training step, counted by valgrind (a figure that a busy
shared machine does not move, unlike a step's time).

    python benchmarks/step_instructions.py                 # batch 32
    python benchmarks/step_instructions.py --batch-size 1  # the step's fixed cost

Runs ``fit`` under ``valgrind --tool=callgrind`` twice, for 2 and for 22 steps of the demo
MobileNetV2 (SGD with momentum, one kernel thread), and prints the difference divided by
20: the instructions of one step, without the start-up. Needs valgrind; takes about a
minute per run at batch 1, more at batch 32.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

_CHILD = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
import minigrad as mg
from minigrad import losses, optimizers
from minigrad.demo import mobilenet_model
batch, steps = {batch}, {steps}
mg.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.random((batch * steps, 8, 8, 1)).astype(np.float32)
y = rng.integers(0, 10, batch * steps)
model = mobilenet_model()
model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9),
              loss=losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
"""


def instructions(batch, steps, root):
    """Instructions valgrind counts for the whole child run."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "steps.py")
        with open(script, "w") as f:
            f.write(_CHILD.format(root=root, batch=batch, steps=steps))
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             os.path.realpath(sys.executable), script],
            capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise SystemExit(f"valgrind failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    short, long = instructions(args.batch_size, 2, root), instructions(args.batch_size, 22, root)
    print(f"MobileNetV2 training step, batch {args.batch_size}: "
          f"{(long - short) / 20 / 1e6:.2f} M instructions (callgrind, 22 - 2 steps)")


if __name__ == "__main__":
    main()
