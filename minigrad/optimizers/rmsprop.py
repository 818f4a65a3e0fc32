"""RMSprop: divide the gradient by a moving root-mean-square of recent gradients."""
import numpy as np

from .base import (REGISTRY, Optimizer, check_bool, check_in_range, check_positive,
                   is_number)


@REGISTRY.register("rmsprop", "RMSprop")
class RMSprop(Optimizer):
    """RMSprop (slot "velocity" v, zeros; "average_gradient" a if ``centered``;
    "momentum" m if ``momentum > 0``)::

        v <- rho v + (1 - rho) g^2
        a <- rho a + (1 - rho) g                          (centered only)
        increment = lr g / sqrt(v + epsilon)              plain
                    lr g / sqrt(v - a^2 + epsilon)        centered
        w <- w - increment                                momentum 0
        m <- momentum m + increment; w <- w - m           momentum > 0

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        rho (float, default 0.9): decay of the squared gradient's average, in [0, 1].
        momentum (float, default 0.0): in [0, 1]; 0 is off.
        epsilon (float, default 1e-07): added under the square root, > 0.
        centered (bool, default False): divide by an estimate of the variance instead of
            the second moment.
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"rmsprop"``, ``"rmsprop_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.RMSprop(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [-0.5811, 3.5811]
    """

    default_name = "rmsprop"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        check_in_range(rho, "rho", 0, 1)
        if not is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"Argument `momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        check_positive(epsilon, "epsilon")
        check_bool(centered, "centered")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def slot_specs(self):
        specs = [("velocity", 0.0)]
        if self.momentum > 0:
            specs.append(("momentum", 0.0))
        if self.centered:
            specs.append(("average_gradient", 0.0))
        return specs

    def update_step(self, grad, value, slots, learning_rate, context):
        f = grad.dtype.type
        rho = f(self.rho)
        v = rho * slots["velocity"] + f(1 - self.rho) * (grad * grad)
        new_slots = {"velocity": v}
        if self.centered:
            a = rho * slots["average_gradient"] + f(1 - self.rho) * grad
            new_slots["average_gradient"] = a
            denominator = v - a * a + f(self.epsilon)
        else:
            denominator = v + f(self.epsilon)
        increment = f(learning_rate) * grad / np.sqrt(denominator)
        if self.momentum > 0:
            m = f(self.momentum) * slots["momentum"] + increment
            new_slots["momentum"] = m
            return value - m, new_slots
        return value - increment, new_slots

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
