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
    """

    default_name = "sgd"

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
