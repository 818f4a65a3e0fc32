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
    """

    default_name = "adamax"

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
