"""Learning-rate schedules: known values from their formulas, errors, serialization, and
use inside an optimizer."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optimizers
from minigrad.optimizers import schedules


def test_exponential_and_inverse_time_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert [s(t) for t in (0, 2, 4, 8)] == pytest.approx([0.1, 0.1 * 0.5 ** 0.5, 0.05, 0.025])
    s = schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True)
    assert [s(t) for t in (0, 3, 4, 7, 8)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    s = schedules.InverseTimeDecay(1.0, decay_steps=2, decay_rate=0.5)
    assert [s(t) for t in (0, 1, 2, 4)] == pytest.approx([1, 1 / 1.25, 1 / 1.5, 1 / 2])
    s = schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=True)
    assert [s(t) for t in (1, 3)] == pytest.approx([1.0, 1 / 1.5])


def test_piecewise_constant_boundaries_belong_to_the_left():
    s = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [s(t) for t in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]


def test_polynomial_decay_and_cycle():
    s = schedules.PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0, power=2.0)
    assert [s(t) for t in (0, 2, 4, 10)] == pytest.approx([1.0, 0.25, 0.0, 0.0])
    s = schedules.PolynomialDecay(1.0, 4, end_learning_rate=0.0, cycle=True)
    # step 6 is in the second period: decay_steps becomes 8.
    assert [s(t) for t in (0, 4, 6)] == pytest.approx([1.0, 0.0, 0.25])


def test_cosine_decay_with_and_without_warmup():
    s = schedules.CosineDecay(1.0, decay_steps=4, alpha=0.2)
    assert [s(t) for t in (0, 2, 4, 9)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    s = schedules.CosineDecay(0.0, decay_steps=4, warmup_target=1.0, warmup_steps=2)
    assert [s(t) for t in (0, 1, 2, 4, 6, 50)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.0])


def test_cosine_decay_restarts():
    s = schedules.CosineDecayRestarts(1.0, first_decay_steps=2, t_mul=2.0, m_mul=0.5)
    # periods [0, 2), [2, 6), [6, 14): restarts at 2 and 6 with peaks 0.5 and 0.25.
    assert [s(t) for t in (0, 1, 2, 4, 6)] == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25])
    s = schedules.CosineDecayRestarts(1.0, 2, t_mul=1.0)
    assert [s(t) for t in (0, 1, 2, 3)] == pytest.approx([1.0, 0.5, 1.0, 0.5])


@pytest.mark.parametrize("make, message", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps=0"),
    (lambda: schedules.ExponentialDecay(-0.1, 1, 0.5), "initial_learning_rate=-0.1"),
    (lambda: schedules.ExponentialDecay(0.1, 1, 0.5, staircase="no"), "staircase='no'"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]), "1 less than the length"),
    (lambda: schedules.PiecewiseConstantDecay([3, 2], [0.1, 0.2, 0.3]), "increasing"),
    (lambda: schedules.PolynomialDecay(0.1, -5), "decay_steps=-5"),
    (lambda: schedules.InverseTimeDecay(0.1, 1, float("nan")), "decay_rate=nan"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=-1.0), "warmup_target=-1.0"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps=0"),
])
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 3, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([10], [0.1, 0.01]),
    schedules.PolynomialDecay(0.1, 5, cycle=True),
    schedules.InverseTimeDecay(0.1, 2, 0.3),
    schedules.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=5),
    schedules.CosineDecayRestarts(0.1, 4, m_mul=0.9),
])
def test_serialization_round_trips(schedule):
    again = schedules.deserialize(schedules.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(t) for t in range(12)] == [schedule(t) for t in range(12)]
    assert schedules.get(schedule) is schedule
    with pytest.raises(ValueError, match="Could not interpret learning-rate schedule"):
        schedules.get("CosineDecay")


def test_optimizer_evaluates_the_schedule_at_its_iterations():
    schedule = schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25])
    v = mg.Variable(np.zeros(1))
    opt = optimizers.SGD(learning_rate=schedule)
    lrs = []
    for _ in range(3):
        lrs.append(opt.learning_rate)
        opt.apply([np.ones(1)], [v])
    assert lrs == [1.0, 0.5, 0.25]
    np.testing.assert_allclose(v.numpy(), [-1.75])
    assert math.isclose(schedule(np.int64(1)), 0.5)
