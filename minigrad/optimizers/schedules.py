"""Learning-rate schedules: ``schedule(step) -> learning rate``, Keras 3's formulas.

An optimizer given a schedule evaluates it at its ``iterations`` (0 for the first step)::

    opt = optimizers.Adam(learning_rate=schedules.ExponentialDecay(1e-3, 100, 0.5))

Each schedule serializes with ``get_config``/``from_config`` (and :func:`serialize` /
:func:`deserialize`), so an optimizer carrying one saves and loads with its config.
Arithmetic is float64 (Keras computes in float32, a difference of ~1e-7 relative).
"""
import math
import numbers

from ..registry import Registry

REGISTRY = Registry("learning-rate schedule")


def _number(value, argument, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0 or (positive and value == 0):
        expected = "a positive number" if positive else "a non-negative number"
        raise ValueError(f"Argument `{argument}` must be {expected}. "
                         f"Received: {argument}={value!r}")
    return value


def _bool(value, argument):
    if not isinstance(value, bool):
        raise ValueError(f"Argument `{argument}` must be a boolean. "
                         f"Received: {argument}={value!r}")
    return value


def _step(step):
    step = float(step.item() if hasattr(step, "item") else step)
    if not math.isfinite(step) or step < 0:
        raise ValueError(f"A learning-rate schedule needs a step >= 0; received {step!r}.")
    return step


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Takes no arguments (subclasses take their own).
    """

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RatioDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, and the decay
    measured in units of ``decay_steps``, ``p = step / decay_steps`` (floored when
    ``staircase``). ``name`` defaults to the class's name."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate")
        self.staircase = _bool(staircase, "staircase")
        self.name = type(self).__name__ if name is None else name

    def _periods(self, step):
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@REGISTRY.register("ExponentialDecay")
class ExponentialDecay(_RatioDecay):
    """``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``
    (the exponent floored when ``staircase``).

    Args:
        initial_learning_rate (float): the rate at step 0, >= 0.
        decay_steps (float): the step count one unit of decay takes, > 0.
        decay_rate (float): the factor per ``decay_steps``, >= 0.
        staircase (bool, default False): floor ``step / decay_steps`` (the rate changes in
            steps).
        name (str or None, default None): None means the class's name.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: for a negative (or zero, where it must be positive) argument.

    Example:
        >>> schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
        0.025
    """

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._periods(step)


@REGISTRY.register("PiecewiseConstantDecay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Args:
        boundaries (list of float): increasing step counts.
        values (list of float): one more than ``boundaries``.
        name (str, default "PiecewiseConstant"): the schedule's name.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: if ``values`` is not one longer than ``boundaries``, or the boundaries
            do not increase.

    Example:
        >>> schedules.PiecewiseConstantDecay([10], [1.0, 0.5])(11)
        0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of `boundaries` should be 1 less than the length of "
                             f"`values`. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        for i, b in enumerate(boundaries):
            _number(b, f"boundaries[{i}]")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must be increasing. Received: "
                             f"boundaries={boundaries}")
        for i, v in enumerate(values):
            _number(v, f"values[{i}]")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@REGISTRY.register("PolynomialDecay")
class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - s / decay_steps) ** power + end`` with
    ``s = min(step, decay_steps)``; with ``cycle``, ``decay_steps`` is instead stretched
    to the first multiple of itself that is >= step (1x at step 0).

    Args:
        initial_learning_rate (float): the rate at step 0, >= 0.
        decay_steps (float): the steps the decay takes, > 0.
        end_learning_rate (float, default 0.0001): the rate reached at ``decay_steps``.
        power (float, default 1.0): the polynomial's power (1: linear).
        cycle (bool, default False): start again (from a longer period) after
            ``decay_steps``.
        name (str, default "PolynomialDecay"): the schedule's name.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: for a negative (or zero, where it must be positive) argument.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate")
        self.power = _number(power, "power")
        self.cycle = _bool(cycle, "cycle")
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power \
            + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


@REGISTRY.register("InverseTimeDecay")
class InverseTimeDecay(_RatioDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio
    floored when ``staircase``).

    Args:
        initial_learning_rate (float): the rate at step 0, >= 0.
        decay_steps (float): the step count one unit of decay takes, > 0.
        decay_rate (float): how fast the rate falls, >= 0.
        staircase (bool, default False): floor ``step / decay_steps`` (the rate changes in
            steps).
        name (str or None, default None): None means the class's name.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: for a negative (or zero, where it must be positive) argument.

    Example:
        >>> schedules.InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0)(10)
        0.5
    """

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._periods(step))


def _cosine(fraction, alpha):
    """``(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha``: 1 at 0, alpha at 1."""
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha


@REGISTRY.register("CosineDecay")
class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to ``alpha * initial`` over
    ``decay_steps``, then flat::

        lr(step) = initial * cosine(min(step, decay_steps) / decay_steps)

    With ``warmup_target``: first a linear warm-up from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then the cosine decay from ``warmup_target``
    over the next ``decay_steps``.

    Args:
        initial_learning_rate (float): the rate at step 0, >= 0.
        decay_steps (float): the steps the decay takes, > 0.
        alpha (float, default 0.0): the final rate as a fraction of the initial one.
        name (str, default "CosineDecay"): the schedule's name.
        warmup_target (float or None, default None): the rate a linear warm-up climbs to;
            None for no warm-up.
        warmup_steps (float, default 0): the warm-up's length.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: for a negative (or zero, where it must be positive) argument.

    Example:
        >>> schedules.CosineDecay(1.0, decay_steps=10)(5)
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.alpha = _number(alpha, "alpha")
        self.name = name
        self.warmup_target = None if warmup_target is None \
            else _number(warmup_target, "warmup_target")
        self.warmup_steps = _number(warmup_steps, "warmup_steps")

    def __call__(self, step):
        step = _step(step)
        if self.warmup_target is None:
            fraction = min(step, self.decay_steps) / self.decay_steps
            return self.initial_learning_rate * _cosine(fraction, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return (self.warmup_target - self.initial_learning_rate) \
                * (step / self.warmup_steps) + self.initial_learning_rate
        fraction = (step - self.warmup_steps) / self.decay_steps
        return self.warmup_target * _cosine(fraction, self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


@REGISTRY.register("CosineDecayRestarts")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR). Period i lasts
    ``first_decay_steps * t_mul**i`` steps and starts from ``initial * m_mul**i``::

        f = step / first_decay_steps
        i = floor(f)                                  if t_mul == 1
            floor(log(1 - f (1 - t_mul)) / log t_mul) otherwise
        fraction within period = f - i                if t_mul == 1
            (f - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i
        lr = initial * ((1 - alpha) * m_mul**i * (1 + cos(pi fraction)) / 2 + alpha)

    Args:
        initial_learning_rate (float): the rate at step 0, >= 0.
        first_decay_steps (float): the first period's length, > 0.
        t_mul (float, default 2.0): each period is ``t_mul`` times longer than the last.
        m_mul (float, default 1.0): each period starts ``m_mul`` times lower.
        alpha (float, default 0.0): the lowest rate as a fraction of each period's start.
        name (str, default "SGDRDecay"): the schedule's name.

    Returns (when called as ``schedule(step)``):
        float: the learning rate at ``step`` (>= 0).

    Raises:
        ValueError: for a negative (or zero, where it must be positive) argument.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _number(first_decay_steps, "first_decay_steps", positive=True)
        self.t_mul = _number(t_mul, "t_mul", positive=True)
        self.m_mul = _number(m_mul, "m_mul")
        self.alpha = _number(alpha, "alpha")
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul))
                                 / math.log(self.t_mul))
            done = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


def serialize(schedule):
    """A schedule as a Keras-shaped config dict.

    Args:
        schedule (LearningRateSchedule): the schedule.

    Returns:
        dict: ``{"module", "class_name", "config", "registered_name"}``.
    """
    return REGISTRY.serialize(schedule)


def deserialize(config):
    """A schedule from :func:`serialize`'s dict.

    Args:
        config (dict): what :func:`serialize` returned.

    Returns:
        LearningRateSchedule

    Raises:
        ValueError: if ``config`` names no known schedule.
    """
    return REGISTRY.deserialize(config)


def get(identifier):
    """A schedule from an instance or a config dict (a bare name is not enough: every
    schedule has required arguments).

    Args:
        identifier (LearningRateSchedule or dict): an instance passes through; a dict is
            deserialized.

    Returns:
        LearningRateSchedule

    Raises:
        ValueError: for anything else (a name is refused: every schedule has required
            arguments).
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise REGISTRY.not_understood(identifier)
