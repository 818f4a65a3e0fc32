"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
import numpy as np

from .base import REGISTRY, Optimizer, check_optional_non_negative, check_positive


@REGISTRY.register("adagrad", "Adagrad")
class Adagrad(Optimizer):
    """Adagrad (slot "accumulator" s, starting at ``initial_accumulator_value``)::

        s <- s + g^2
        w <- w - lr g / sqrt(s + epsilon)
    """

    default_name = "adagrad"

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
