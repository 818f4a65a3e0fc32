"""Optimizers: turn gradients into weight updates. minigrad has SGD (with the Keras set
of options) on a small base class that does the bookkeeping every optimizer shares.

One call ``opt.apply(grads, variables)`` (or ``opt.apply_gradients(zip(grads, vars))``)
does, in this order (Keras 3's order):

    1. drop pairs whose gradient is None (with a warning; an error if none are left)
    2. clip: clipnorm       g <- g * c / max(||g||, c)          per tensor
             global_clipnorm g_i <- g_i * c / max(G, c), G = sqrt(sum ||g_i||^2)
             clipvalue      g <- clip(g, -v, v)
    3. decoupled weight decay on the pre-update weights: w <- w * (1 - wd * lr)
    4. the update (SGD below)
    5. each variable's ``constraint``, if it has one: w <- constraint(w)
    6. iterations += 1

Everything is checked before any variable changes: a bad list raises and leaves the
weights as they were. Updates run in NumPy, in each variable's dtype, outside the tape,
and go through ``Variable.assign`` (a fresh buffer, so tapes that already recorded a
weight keep seeing its old value).

Deviations from Keras 3 (deliberate, friendlier): ``learning_rate`` and ``momentum``
accept ints (``SGD(learning_rate=1, momentum=0)``); updating a non-trainable Variable or
passing the same Variable twice raises ValueError.
"""
import math
import numbers
import re
import warnings

import numpy as np

from .registry import Registry
from .tensor import Tensor, Variable

REGISTRY = Registry("optimizer")
_name_counts = {}


def _unique_name(base):
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def _is_number(value):
    return not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and math.isfinite(value)


def _check_optional_non_negative(value, argument):
    if value is None:
        return None
    if not _is_number(value) or value < 0:
        raise ValueError(f"Argument `{argument}` must be None or a non-negative number. "
                         f"Received: {argument}={value!r}")
    return value


def _label(variable, position):
    return repr(variable.name) if getattr(variable, "name", None) else f"#{position}"


# ------------------------------------------------------------------------ clipping
def clip_by_norm(grad, clipnorm):
    """``grad * clipnorm / max(||grad||, clipnorm)``: rescaled only if its norm is larger."""
    norm = np.sqrt(np.sum(np.square(grad, dtype=np.float64)))
    return grad * grad.dtype.type(clipnorm / max(norm, clipnorm))


def clip_by_global_norm(grads, clipnorm):
    """Rescale all gradients together so their joint norm G is at most ``clipnorm``.

    G = sqrt(sum of every ||g_i||^2). A non-finite G gives NaN gradients (as Keras).
    """
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
    scale = clipnorm / max(total, clipnorm) if math.isfinite(total) else math.nan
    return [g * g.dtype.type(scale) for g in grads]


def clip_by_value(grad, clipvalue):
    """Every element clipped to ``[-clipvalue, clipvalue]``."""
    return np.clip(grad, grad.dtype.type(-clipvalue), grad.dtype.type(clipvalue))


# ------------------------------------------------------------------------ base class
class Optimizer:
    """What every optimizer shares: learning rate, clipping, weight decay, constraints,
    the step counter. Subclasses implement :meth:`update_step` (and may keep per-variable
    state through :meth:`add_slot`).

    learning_rate: a number >= 0, or a callable ``schedule(iterations) -> number``.
    weight_decay: decoupled decay rate (None: off). See :meth:`exclude_from_weight_decay`.
    clipnorm, clipvalue, global_clipnorm: at most one may be given; None or 0 is off.
    """

    default_name = "optimizer"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if "decay" in kwargs:
            kwargs.pop("decay")
            warnings.warn("Argument `decay` is no longer supported and is ignored; use a "
                          "callable learning_rate schedule instead.", stacklevel=3)
        if kwargs:
            hint = " (did you mean `learning_rate`?)" if "lr" in kwargs else ""
            raise ValueError(f"Argument(s) not recognized: {kwargs}{hint}")
        given = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for argument, value in given.items():
            _check_optional_non_negative(value, argument)
        if sum(value is not None for value in given.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.weight_decay = _check_optional_non_negative(weight_decay, "weight_decay")
        self.learning_rate = learning_rate
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        self.name = name if name is not None else _unique_name(self.default_name)
        self.iterations = 0
        self._slots = {}                # slot name -> {id(variable): (variable, buffer)}
        self._excluded_variables = {}   # id -> variable
        self._excluded_patterns = []

    # -- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a schedule is evaluated at ``iterations``)."""
        value = self._learning_rate
        if callable(value):
            value = value(self.iterations)
            if isinstance(value, Tensor):
                value = value.item()
            if not _is_number(value) or value < 0:
                raise ValueError(f"The learning-rate schedule returned {value!r} at iteration "
                                 f"{self.iterations}; expected a non-negative number.")
        return float(value)

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value) and (not _is_number(value) or value < 0):
            raise ValueError("Argument `learning_rate` must be a non-negative number or a "
                             "callable schedule(iterations). Received: "
                             f"learning_rate={value!r}")
        self._learning_rate = value

    # -- weight decay exclusions -----------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables from weight decay: those in ``var_list``, and those whose
        name matches (``re.search``) any regular expression in ``var_names``."""
        for variable in var_list or ():
            if not isinstance(variable, Variable):
                raise TypeError(f"exclude_from_weight_decay: var_list must hold Variables, "
                                f"got {type(variable).__name__}.")
            self._excluded_variables[id(variable)] = variable
        if isinstance(var_names, str):
            var_names = [var_names]
        for pattern in var_names or ():
            try:
                self._excluded_patterns.append(re.compile(pattern))
            except (re.error, TypeError) as e:
                raise ValueError(f"exclude_from_weight_decay: var_names entry {pattern!r} is "
                                 f"not a valid regular expression ({e}).") from None

    def _use_weight_decay(self, variable):
        if id(variable) in self._excluded_variables:
            return False
        names = [n for n in (variable.name, getattr(variable, "path", None)) if n]
        return not any(p.search(n) for p in self._excluded_patterns for n in names)

    # -- per-variable state ------------------------------------------------------------
    def add_slot(self, slot, variable):
        """The ``slot`` buffer of ``variable`` (zeros like it, created on first use)."""
        buffers = self._slots.setdefault(slot, {})
        entry = buffers.get(id(variable))
        if entry is None:
            name = f"{variable.name or 'variable'}_{slot}"
            entry = (variable, Variable(np.zeros_like(variable.data), name=name,
                                        trainable=False))
            buffers[id(variable)] = entry
        return entry[1]

    @property
    def variables(self):
        """Every state buffer the optimizer has created (e.g. momentums), in order."""
        return [buffer for buffers in self._slots.values() for _, buffer in buffers.values()]

    def build(self, variables):
        """Create per-variable state now rather than at the first step (optional)."""

    # -- the step --------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(grad, variable), ...]`` (e.g. ``zip(grads, model.trainable_weights)``)."""
        pairs = list(grads_and_vars)
        for position, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"apply_gradients expects (gradient, variable) pairs; item "
                                 f"{position} is {pair!r}.")
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables):
        """One optimizer step: clip, weight decay, update, constraints, ``iterations += 1``.

        grads: ndarrays or Tensors (or None: that variable is skipped), one per variable.
        Returns the new ``iterations``.
        """
        grads, variables = self._check(list(grads), list(trainable_variables))
        if self.clipnorm:
            grads = [clip_by_norm(g, self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            grads = clip_by_global_norm(grads, self.global_clipnorm)
        elif self.clipvalue:
            grads = [clip_by_value(g, self.clipvalue) for g in grads]
        lr = self.learning_rate
        for grad, variable in zip(grads, variables):
            w = variable.data
            if self.weight_decay is not None and self._use_weight_decay(variable):
                w = w * w.dtype.type(1 - self.weight_decay * lr)
            variable.assign(self.update_step(grad, variable, w, lr))
        for position, variable in enumerate(variables):
            if variable.constraint is not None:
                projected = variable.constraint(variable)
                if np.shape(projected) != variable.shape:
                    raise ValueError(f"The constraint of variable {_label(variable, position)} "
                                     f"returned shape {np.shape(projected)}, expected "
                                     f"{variable.shape}.")
                variable.assign(projected)
        self.iterations += 1
        return self.iterations

    def _check(self, grads, variables):
        """Validate everything up front; return (grads as arrays, variables) without Nones."""
        if len(grads) != len(variables):
            raise ValueError(f"Got {len(grads)} gradients for {len(variables)} variables; "
                             "there must be one gradient (or None) per variable.")
        seen = set()
        for position, variable in enumerate(variables):
            if not isinstance(variable, Variable):
                raise TypeError(f"Optimizers update Variables; item {position} is a "
                                f"{type(variable).__name__}.")
            if not variable.trainable:
                raise ValueError(f"Variable {_label(variable, position)} is not trainable "
                                 "(trainable=False); optimizers update trainable variables "
                                 "only. Leave it out of the list.")
            if id(variable) in seen:
                raise ValueError(f"Variable {_label(variable, position)} appears more than "
                                 "once in the list; each variable may be updated once per step.")
            seen.add(id(variable))
        missing = [_label(v, i) for i, (g, v) in enumerate(zip(grads, variables)) if g is None]
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: [{', '.join(missing)}]. "
                             "Is the loss connected to the variables (computed inside the "
                             "tape)?")
        if missing:
            warnings.warn(f"Gradients do not exist for variables [{', '.join(missing)}] when "
                          "minimizing the loss; they are not updated.", stacklevel=3)
        arrays = []
        for position, (grad, variable) in enumerate(kept):
            g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            if g.dtype.kind not in "biuf":
                raise TypeError(f"The gradient for variable {_label(variable, position)} must "
                                f"be numeric, got dtype {g.dtype}.")
            if g.shape != variable.shape:
                raise ValueError(f"The gradient for variable {_label(variable, position)} has "
                                 f"shape {g.shape}, but the variable has shape "
                                 f"{variable.shape}.")
            arrays.append(g.astype(variable.dtype, copy=False))
        return arrays, [v for _, v in kept]

    def update_step(self, grad, variable, value, learning_rate):
        """The new value of ``variable`` given its (decayed) current ``value``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step.")

    # -- config ------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "learning_rate": self._learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} iterations={self.iterations}>"


@REGISTRY.register("sgd", "SGD")
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

        momentum 0:   w <- w - lr g
        momentum mu:  m <- mu m - lr g         (m starts at zeros, one per variable)
                      w <- w + m               classic
                      w <- w + mu m - lr g     nesterov (with the new m)
    """

    default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"Argument `momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        if not isinstance(nesterov, bool):
            raise ValueError(f"Argument `nesterov` must be a boolean. Received: "
                             f"nesterov={nesterov!r}")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.momentum != 0:
            for variable in variables:
                self.add_slot("momentum", variable)

    def update_step(self, grad, variable, value, learning_rate):
        dtype = variable.dtype.type
        step = grad * dtype(learning_rate)
        if self.momentum == 0:
            return value - step
        mu = dtype(self.momentum)
        m = self.add_slot("momentum", variable)
        m.assign(m.data * mu - step)
        if self.nesterov:
            return value + (m.data * mu - step)
        return value + m.data

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


def serialize(optimizer):
    """An optimizer as a Keras-style dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return REGISTRY.serialize(optimizer)


def deserialize(config):
    """An optimizer rebuilt from :func:`serialize`'s dict."""
    return REGISTRY.deserialize(config)


def get(identifier):
    """An optimizer from a name (``"sgd"``), class, instance or config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return REGISTRY.lookup(identifier)()
    if isinstance(identifier, dict):
        return REGISTRY.deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise REGISTRY.not_understood(identifier)
