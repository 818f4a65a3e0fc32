"""minigrad/heap.py: fit/evaluate/predict keep the C heap between steps (glibc only)."""
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import heap


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1


@pytest.fixture
def fake(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    return libc


def test_settings_once_at_the_outermost_level_and_restored_even_after_an_error(fake):
    with heap.keep_heap():
        with heap.keep_heap():                     # fit calling evaluate: nothing more
            assert len(fake.calls) == 3
        assert len(fake.calls) == 3
        with pytest.raises(RuntimeError):
            with heap.keep_heap():
                raise RuntimeError("inside")
        assert len(fake.calls) == 3
    assert fake.calls == [("mallopt", -3, 32 << 20), ("mallopt", -1, 1 << 30), ("mallopt", -2, 64 << 20),
                          ("mallopt", -2, 0), ("mallopt", -1, 64 << 20)]
    assert heap._depth == 0


def test_fit_evaluate_predict_run_inside(fake):
    model = mg.Sequential([mg.layers.Input((3,)), mg.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    for run in (lambda: model.fit(x, y, verbose=0, validation_data=(x, y)),
                lambda: model.evaluate(x, y, verbose=0), lambda: model.predict(x, verbose=0)):
        fake.calls.clear()
        run()
        assert [c[1] for c in fake.calls if c[0] == "mallopt"] == [-3, -1, -2, -2, -1]


def test_turned_off_by_environment(monkeypatch):
    monkeypatch.setenv("MINIGRAD_KEEP_HEAP", "0")
    assert heap._glibc() is None
    with heap.keep_heap():                         # a plain block then
        pass


def _faults_of_steps(context):
    """Page faults of 10 "steps" that each allocate 20 arrays of 256 KB and free them all at
    the end (the pattern of a training step), after 5 steps of warm-up."""
    code = (
        "import resource, numpy as np, contextlib\n"
        "from minigrad import heap\n"
        f"with {context}:\n"
        "    for _ in range(5):\n"
        "        arrays = [np.ones(1 << 16, np.float32) for _ in range(20)]; del arrays\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    for _ in range(10):\n"
        "        arrays = [np.ones(1 << 16, np.float32) for _ in range(20)]; del arrays\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_steps_fault_their_memory_in_again_unless_the_heap_is_kept():
    # fresh processes: glibc's defaults trim the freed 5 MB off the heap after every step
    assert _faults_of_steps("contextlib.nullcontext()") > 5_000       # ~1,280 pages a step
    assert _faults_of_steps("heap.keep_heap()") < 200
