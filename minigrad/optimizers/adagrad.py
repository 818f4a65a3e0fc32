"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
import numpy as np

from .base import REGISTRY, Optimizer, check_optional_non_negative, check_positive


@REGISTRY.register("adagrad", "Adagrad")
class Adagrad(Optimizer):
    """Adagrad (slot "accumulator" s, starting at ``initial_accumulator_value``)::

        s <- s + g^2
        w <- w - lr g / sqrt(s + epsilon)

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        initial_accumulator_value (float, default 0.1): s at the start, >= 0.
        epsilon (float, default 1e-07): added under the square root, > 0.
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"adagrad"``, ``"adagrad_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.Adagrad(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.5233, 2.4767]
    """

    default_name = "adagrad"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        if initial_accumulator_value is None:
            raise ValueError("Argument `initial_accumulator_value` must be a non-negative "
                             "number. Received: initial_accumulator_value=None")
        check_optional_non_negative(initial_accumulator_value, "initial_accumulator_value")
        check_positive(epsilon, "epsilon")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def slot_specs(self):
        return [("accumulator", self.initial_accumulator_value)]

    def update_step(self, grad, value, slots, learning_rate, context):
        f = grad.dtype.type
        s = slots["accumulator"] + grad * grad
        return value - f(learning_rate) * grad / np.sqrt(s + f(self.epsilon)), \
            {"accumulator": s}

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
