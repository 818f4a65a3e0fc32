"""Adam (with the AMSGrad variant) and AdamW (Adam with decoupled weight decay on)."""
import numpy as np

from .base import REGISTRY, Optimizer, check_bool, check_in_range, check_positive


def check_betas_epsilon(beta_1, beta_2, epsilon):
    """Check Adam's shared arguments: ``beta_1`` and ``beta_2`` in [0, 1), ``epsilon`` > 0.

    Args:
        beta_1 (float): the first moment's decay.
        beta_2 (float): the second moment's decay.
        epsilon (float): the denominator's guard.

    Raises:
        ValueError: naming the argument out of range.
    """
    check_in_range(beta_1, "beta_1", 0, 1, high_open=True)
    check_in_range(beta_2, "beta_2", 0, 1, high_open=True)
    check_positive(epsilon, "epsilon")


@REGISTRY.register("adam", "Adam")
class Adam(Optimizer):
    """Adam: a moving average of the gradient over a moving root-mean-square of it,
    bias-corrected. At step t = 1, 2, ... (slots "momentum" m and "velocity" v, zeros)::

        m <- m + (g - m) (1 - beta_1)
        v <- v + (g^2 - v) (1 - beta_2)
        v_hat <- max(v_hat, v); use v_hat for v        (amsgrad only; slot "velocity_hat")
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha m / (sqrt(v) + epsilon)

    (epsilon is added to sqrt(v) after the bias correction is folded into alpha, as in
    Keras 3, not to sqrt(v_hat) as in the paper.)

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        beta_1 (float, default 0.9): decay of the gradient's moving average, in [0, 1).
        beta_2 (float, default 0.999): decay of the squared gradient's average, in [0, 1).
        epsilon (float, default 1e-07): added to sqrt(v), > 0.
        amsgrad (bool, default False): divide by the largest v seen so far.
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"adam"``, ``"adam_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.Adam(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.5, 2.5]
    """

    default_name = "adam"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        check_betas_epsilon(beta_1, beta_2, epsilon)
        check_bool(amsgrad, "amsgrad")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def slot_specs(self):
        specs = [("momentum", 0.0), ("velocity", 0.0)]
        return specs + [("velocity_hat", 0.0)] if self.amsgrad else specs

    def update_step(self, grad, value, slots, learning_rate, context):
        f = grad.dtype.type
        t = context["step"]
        alpha = f(learning_rate) * np.sqrt(1 - f(self.beta_2) ** t) / (1 - f(self.beta_1) ** t)
        m = slots["momentum"] + (grad - slots["momentum"]) * f(1 - self.beta_1)
        v = slots["velocity"] + (grad * grad - slots["velocity"]) * f(1 - self.beta_2)
        new_slots = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = new_slots["velocity_hat"] = np.maximum(slots["velocity_hat"], v)
        return value - (m * alpha) / (np.sqrt(v) + f(self.epsilon)), new_slots

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


@REGISTRY.register("adamw", "AdamW")
class AdamW(Adam):
    """Adam with decoupled weight decay switched on (default 0.004): before Adam's update,
    ``w <- w (1 - weight_decay lr)`` (the shared step in :mod:`.base`).

    Args:
        learning_rate (float, schedule or callable, default 0.001): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        weight_decay (float, default 0.004): the decay rate (None is refused: use Adam).
        beta_1 (float, default 0.9): decay of the gradient's moving average, in [0, 1).
        beta_2 (float, default 0.999): decay of the squared gradient's average, in [0, 1).
        epsilon (float, default 1e-07): added to sqrt(v), > 0.
        amsgrad (bool, default False): divide by the largest v seen so far.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"adamw"``, ``"adamw_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.AdamW(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.498, 2.496]
    """

    default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)
