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
    """

    default_name = "rmsprop"

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
