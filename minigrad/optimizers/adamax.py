"""Adamax: Adam with the infinity norm in place of the root-mean-square."""
import numpy as np

from .adam import check_betas_epsilon
from .base import REGISTRY, Optimizer


@REGISTRY.register("adamax", "Adamax")
class Adamax(Optimizer):
    """Adamax. At step t = 1, 2, ... (slots "momentum" m and "norm" u, zeros)::

        m <- m + (g - m) (1 - beta_1)
        u <- max(beta_2 u, |g|)
        w <- w - lr m / ((1 - beta_1^t) (u + epsilon))

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        beta_1 (float, default 0.9): decay of the gradient's moving average, in [0, 1).
        beta_2 (float, default 0.999): decay of the infinity norm u, in [0, 1).
        epsilon (float, default 1e-07): added to u, > 0.
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"adamax"``, ``"adamax_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.Adamax(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.5, 2.5]
    """

    default_name = "adamax"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        check_betas_epsilon(beta_1, beta_2, epsilon)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def slot_specs(self):
        return [("momentum", 0.0), ("norm", 0.0)]

    def update_step(self, grad, value, slots, learning_rate, context):
        f = grad.dtype.type
        m = slots["momentum"] + (grad - slots["momentum"]) * f(1 - self.beta_1)
        u = np.maximum(f(self.beta_2) * slots["norm"], np.abs(grad))
        correction = 1 - f(self.beta_1) ** context["step"]
        return value - f(learning_rate) * m / (correction * (u + f(self.epsilon))), \
            {"momentum": m, "norm": u}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
