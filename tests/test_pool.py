"""The depthwise kernels' worker threads (``minigrad/_kernels/pool.h``): every part of a call
runs exactly once whoever runs it, after a pause (workers asleep), from two Python threads at
once, and in a child process made by ``fork`` (which has none of its parent's workers)."""
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from minigrad import _kernels
from minigrad import threads as mg_threads

compiled = _kernels.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

GEOMETRY = ((1, 1), (1, 1), ((1, 1), (1, 1)))


def _problem(seed, dtype=np.float32):
    """A problem large enough to run on threads (above PARALLEL_MIN_WORK)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 24, 40, 40)).astype(dtype)
    kernel = rng.standard_normal((3, 3, 40, 1)).astype(dtype)
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    return x, kernel, grad_y


def _calls(x, kernel, grad_y):
    """Every threaded job of the depthwise module: forward, fused backward, kernel gradient."""
    return (compiled.depthwise_forward(x, kernel, *GEOMETRY),
            *compiled.depthwise_backward(grad_y, x, kernel, *GEOMETRY),
            compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *GEOMETRY))


def _one_thread(problem):
    with mg_threads.limit_kernel_threads(1):
        return _calls(*problem)


def _assert_same(got, want):
    for a, b in zip(got, want):
        assert np.array_equal(a, b)


def test_the_problem_is_large_enough_to_run_on_threads():
    from minigrad._kernels import depthwise, pool
    x, kernel, _ = _problem(0)
    assert x.size * kernel.shape[0] * kernel.shape[1] >= depthwise.PARALLEL_MIN_WORK
    with mg_threads.limit_kernel_threads(3):
        _calls(*_problem(0))
    assert pool.workers() >= 2              # the pool, not OpenMP, ran the parts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_calls_after_pauses_long_enough_for_the_workers_to_sleep(dtype):
    problem = _problem(1, dtype)
    want = _one_thread(problem)
    with mg_threads.limit_kernel_threads(2):
        for pause in (0.0, 0.01, 0.0, 0.05):
            time.sleep(pause)
            _assert_same(_calls(*problem), want)


def test_two_python_threads_calling_at_once():
    """Python threads release the GIL inside the kernels: a call that finds the pool busy
    runs its parts itself, and neither call sees the other's parts."""
    problems = [_problem(2), _problem(3)]
    wants = [_one_thread(p) for p in problems]
    errors = []

    def worker(i):
        try:
            with mg_threads.limit_kernel_threads(2):
                for _ in range(15):
                    _assert_same(_calls(*problems[i]), wants[i])
        except Exception as error:       # reported by the main thread
            errors.append(error)

    # limit_kernel_threads sets a module global: both threads set the same value
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_workers():
    problem = _problem(4)
    want = _one_thread(problem)
    with mg_threads.limit_kernel_threads(2):
        _calls(*problem)                 # the parent's workers exist now
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:                     # the child: a hang would end it by SIGALRM
            code = 1
            try:
                signal.alarm(60)
                from minigrad._kernels import pool
                assert pool.workers() == 0
                for _ in range(3):
                    _assert_same(_calls(*problem), want)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        _assert_same(_calls(*problem), want)     # the parent's pool still works
