"""Nadam: Adam with Nesterov momentum (Dozat's schedule of momentum coefficients)."""
import numpy as np

from .adam import check_betas_epsilon
from .base import REGISTRY, Optimizer


@REGISTRY.register("nadam", "Nadam")
class Nadam(Optimizer):
    """Nadam. At step t = 1, 2, ... (slots "momentum" m and "velocity" v, zeros; one
    optimizer-wide running product ``u_product``, 1 at first)::

        u_t     = beta_1 (1 - 0.5 * 0.96^t)
        u_next  = beta_1 (1 - 0.5 * 0.96^(t+1))
        u_product <- u_product u_t                    (once per step, for all variables)
        m <- m + (g - m) (1 - beta_1)
        v <- v + (g^2 - v) (1 - beta_2)
        m_hat = u_next m / (1 - u_product u_next) + (1 - u_t) g / (1 - u_product)
        v_hat = v / (1 - beta_2^t)
        w <- w - lr m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        beta_1 (float, default 0.9): decay of the gradient's moving average, in [0, 1).
        beta_2 (float, default 0.999): decay of the squared gradient's average, in [0, 1).
        epsilon (float, default 1e-07): added to sqrt(v_hat), > 0.
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"nadam"``, ``"nadam_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.Nadam(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.4686, 2.5314]
    """

    default_name = "nadam"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        check_betas_epsilon(beta_1, beta_2, epsilon)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = 1.0

    def slot_specs(self):
        return [("momentum", 0.0), ("velocity", 0.0)]

    def _begin_step(self, dtype):
        context, scalars = super()._begin_step(dtype)
        f = dtype.type
        t = context["step"]
        u_t = f(self.beta_1) * (f(1.0) - f(0.5) * f(0.96) ** t)
        u_next = f(self.beta_1) * (f(1.0) - f(0.5) * f(0.96) ** (t + 1))
        u_product = f(self.u_product) * u_t
        context.update(u_t=u_t, u_next=u_next, u_product=u_product)
        scalars["u_product"] = float(u_product)
        return context, scalars

    def update_step(self, grad, value, slots, learning_rate, context):
        f = grad.dtype.type
        t = context["step"]
        u_t, u_next = f(context["u_t"]), f(context["u_next"])
        u_product = f(context["u_product"])
        m = slots["momentum"] + (grad - slots["momentum"]) * f(1 - self.beta_1)
        v = slots["velocity"] + (grad * grad - slots["velocity"]) * f(1 - self.beta_2)
        m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * grad / (1 - u_product)
        v_hat = v / (1 - f(self.beta_2) ** t)
        return value - f(learning_rate) * m_hat / (np.sqrt(v_hat) + f(self.epsilon)), \
            {"momentum": m, "velocity": v}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
