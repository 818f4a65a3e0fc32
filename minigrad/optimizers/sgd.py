"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from .base import REGISTRY, Optimizer, check_bool, is_number


@REGISTRY.register("sgd", "SGD")
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

        momentum 0:   w <- w - lr g
        momentum mu:  m <- mu m - lr g         (slot "momentum", zeros at first)
                      w <- w + m               classic
                      w <- w + mu m - lr g     nesterov (with the new m)

    The shared step (clipping, weight decay, constraints) is in :mod:`.base`.

    Args:
        learning_rate (float, schedule or callable, default 0.01): the step size: a number
            >= 0, a :mod:`~minigrad.optimizers.schedules` object, or ``f(step)``.
        momentum (float, default 0.0): mu in [0, 1]; 0 is plain gradient descent.
        nesterov (bool, default False): Nesterov's momentum (the look-ahead form).
        weight_decay (float or None, default None): decoupled weight decay,
            ``w <- w (1 - weight_decay lr)`` before the update; None is off.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger (at most one of the three clips).
        name (str or None, default None): None gives a unique ``"sgd"``, ``"sgd_1"``...
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.

    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.

    Example:
        >>> w = mg.Variable(np.array([1.0, 2.0]))
        >>> opt = optimizers.SGD(learning_rate=0.5)
        >>> opt.apply([np.array([1.0, -1.0])], [w])
        1
        >>> w.numpy().round(4).tolist()
        [0.5, 2.5]
    """

    default_name = "sgd"
    elementwise = True          # all variables in one update_step call (fused.py)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if not is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"Argument `momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        check_bool(nesterov, "nesterov")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov

    def slot_specs(self):
        return [("momentum", 0.0)] if self.momentum != 0 else []

    def update_step(self, grad, value, slots, learning_rate, context):
        step = grad * grad.dtype.type(learning_rate)
        if self.momentum == 0:
            return value - step, {}
        mu = grad.dtype.type(self.momentum)
        m = slots["momentum"] * mu - step
        if self.nesterov:
            return value + (m * mu - step), {"momentum": m}
        return value + m, {"momentum": m}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
