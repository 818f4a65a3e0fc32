"""minigrad.tape across threads: each thread has its own active tapes and layer scope, so
two threads training at once never see each other's ops (TensorFlow's rule)."""
import sys
import threading

import numpy as np

import minigrad as mg
from minigrad import layers


def _run_in_threads(*targets):
    errors = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as e:       # reported in the main thread
                errors.append(e)
        return run

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)              # switch threads as often as possible
    try:
        threads = [threading.Thread(target=guard(fn)) for fn in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]


def _trainer(seed, steps, seen):
    """A thread that trains w on loss = sum((x @ w)^2) by hand and checks every step."""
    def run():
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(5, 3))
        w = mg.Variable(rng.normal(size=(3, 2)), name=f"w{seed}")
        for _ in range(steps):
            with mg.GradientTape() as tape:
                y = x @ w
                loss = (y * y).sum()
            seen.append([e.op for e in tape])
            g = tape.gradient(loss, w)
            expected = 2 * x.T @ (x @ w.data)
            np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12)
            w.assign(w.data - 0.001 * np.asarray(g))
    return run


def test_two_training_threads_never_see_each_others_ops():
    seen_a, seen_b = [], []
    _run_in_threads(_trainer(1, 300, seen_a), _trainer(2, 300, seen_b))
    for seen in (seen_a, seen_b):
        assert len(seen) == 300
        assert all(ops == ["matmul", "multiply", "sum"] for ops in seen)


def test_inference_in_another_thread_stays_off_the_tape_and_its_layer_scope():
    model_a = mg.Sequential([layers.Dense(4, name="dense_a"), layers.Dense(1, name="out_a")])
    model_b = mg.Sequential([layers.Dense(4, name="dense_b")])
    x = np.random.default_rng(0).normal(size=(8, 3))
    model_a(x), model_b(x)
    layer_names = []

    def train():
        for _ in range(100):
            with mg.GradientTape() as tape:
                loss = model_a(x).sum()
            layer_names.append({e.layer for e in tape})
            grads = tape.gradient(loss, model_a.trainable_weights)
            assert all(g is not None for g in grads)

    def infer():
        for _ in range(300):
            model_b(x)

    _run_in_threads(train, infer)
    assert len(layer_names) == 100
    assert all(names == {"dense_a", "out_a", None} for names in layer_names), layer_names[:3]


def test_a_tape_entered_in_one_thread_is_not_active_in_another():
    from minigrad.tape import active_tapes
    inside, outside = [], []
    with mg.GradientTape() as tape:
        inside.extend(active_tapes())
        t = threading.Thread(target=lambda: outside.extend(active_tapes()))
        t.start()
        t.join()
    assert inside == [tape] and outside == []


def test_training_flag_handed_to_sublayers_stays_in_its_thread():
    """A layer called inside another without `training=` takes its caller's value; a
    training step in one thread must not turn another thread's inference into training."""
    from minigrad.layers.base import Layer

    class Probe(Layer):
        def call(self, inputs, training=None):
            seen.append((role.name, training))
            return inputs

    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, inputs, training=None):
            for _ in range(20):
                inputs = self.probe(inputs)        # no training=: inherits the caller's
            return inputs

    seen = []
    role = threading.local()     # (not get_ident: a thread that has ended may pass its id on)
    trainer, inferrer = Outer(), Outer()
    x = np.ones((2, 3))

    def train():
        role.name = "train"
        for _ in range(50):
            trainer(x, training=True)

    def infer():
        role.name = "infer"
        for _ in range(50):
            inferrer(x, training=False)
    _run_in_threads(train, infer)
    by_thread = {}
    for name, training in seen:
        by_thread.setdefault(name, set()).add(training)
    assert by_thread == {"train": {True}, "infer": {False}}
