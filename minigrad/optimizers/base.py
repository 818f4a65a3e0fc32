"""The step every optimizer shares, written once. A subclass only says how one variable
moves (:meth:`Optimizer.update_step`) and which per-variable buffers ("slots") it keeps.

One call ``opt.apply(grads, variables)`` (or ``opt.apply_gradients(zip(grads, vars))``)
does, in this order (Keras 3's order):

    1. drop pairs whose gradient is None (with a warning; an error if none are left)
    2. clip: clipnorm        g <- g * c / max(||g||, c)          per tensor
             global_clipnorm g_i <- g_i * c / max(G, c), G = sqrt(sum ||g_i||^2)
             clipvalue       g <- clip(g, -v, v)
    3. decoupled weight decay on the pre-update weights: w <- w * (1 - wd * lr)
    4. the update (each subclass's formula; an elementwise one, as every built-in is,
       runs once over the small variables joined end to end: ``fused.py``)
    5. each variable's ``constraint``, if it has one: w <- constraint(w)
    6. iterations += 1

The step is all-or-nothing. Everything is checked first; then every new value (weights,
slots, the optimizer's own counters) is computed into fresh arrays without touching any
state; only then are they all swapped in, with Ctrl-C held back for those few
assignments. A bad list, a constraint that raises, or a KeyboardInterrupt in the middle
leaves every weight, slot and ``iterations`` as it was. Updates run in NumPy, in each
variable's dtype, outside the tape; a tape that recorded a weight keeps seeing its old
buffer.

The first ``apply`` (or an explicit :meth:`Optimizer.build`) fixes the variables the
optimizer works for and creates their slots. Later calls may pass any subset of them; an
unknown variable is refused (as in Keras) — make a new optimizer for a new model — so an
optimizer never keeps a stale model alive or grows without bound.

Deviations from Keras 3 (deliberate, friendlier): ``learning_rate`` and ``momentum`` accept
ints (``SGD(learning_rate=1, momentum=0)``); a plain callable learning rate may take the
step number (``lambda step: ...``) or nothing; updating a non-trainable Variable or passing
the same Variable twice raises ValueError.

The argument checks the optimizers share are in ``argument_checks.py``, the three clipping
functions in ``clipping.py`` (all names of this module too).
"""
import contextlib
import inspect
import re
import signal
import threading
import warnings

import numpy as np

from ..layers.base import unique_name
from ..registry import Registry
from ..tensor import Tensor, Variable
from . import schedules as schedules_module
from .argument_checks import (  # noqa: F401  (the optimizers import them from here)
    check_bool, check_in_range, check_optional_non_negative, check_positive, is_number)
from .clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from .fused import fused_update

REGISTRY = Registry("optimizer")


def _label(variable, position):
    return repr(variable.name) if getattr(variable, "name", None) else f"#{position}"


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) back until the block ends, then raise KeyboardInterrupt.

    Used around the few assignments that commit a step, so a step is never half done.
    Outside the main thread signals cannot be caught (and are not delivered there), so
    the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    except ValueError:                          # e.g. an embedded interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, received[0])
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


# ------------------------------------------------------------------------ base class
class Optimizer:
    """What every optimizer shares: learning rate, clipping, weight decay, constraints,
    the step counter, the slots. Subclasses set ``default_name``, list their slots in
    :meth:`slot_specs` and implement :meth:`update_step` (and set ``elementwise = True``
    when it treats every number on its own, so that one call serves all variables).

    Args:
        learning_rate (float, schedule or callable): a number >= 0, a schedule from
            :mod:`minigrad.optimizers.schedules`, or a callable ``f(step) -> number`` (or
            ``f() -> number``).
        weight_decay (float or None, default None): decoupled decay rate (None: off). See
            :meth:`exclude_from_weight_decay`.
        clipnorm (float or None, default None): rescale each gradient whose norm is larger.
        clipvalue (float or None, default None): clip every gradient element to [-v, v].
        global_clipnorm (float or None, default None): rescale all gradients together
            when their joint norm is larger. At most one of the three clips; None or 0 is
            off.
        name (str or None, default None): None gives a unique ``default_name``.
        **kwargs: ``decay=`` is accepted and ignored, with a warning; anything else
            raises ValueError.
    Raises:
        ValueError: for an argument out of range (named in the message), or more than one
            of the clips.
    """

    default_name = "optimizer"
    # True when update_step is elementwise (each number moves by its own gradient and
    # slots alone): apply then updates the small variables with one call (fused.py).
    elementwise = False

    def __init_subclass__(cls, **kwargs):
        """A subclass with an update_step of its own is not elementwise unless it says
        so: its formula may look across a weight (a norm), which joining the weights
        end to end would silently change."""
        super().__init_subclass__(**kwargs)
        if "update_step" in cls.__dict__ and "elementwise" not in cls.__dict__:
            cls.elementwise = False

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if "decay" in kwargs:
            kwargs.pop("decay")
            warnings.warn("Argument `decay` is no longer supported and is ignored; use a "
                          "learning-rate schedule instead.", stacklevel=3)
        if kwargs:
            hint = " (did you mean `learning_rate`?)" if "lr" in kwargs else ""
            raise ValueError(f"Argument(s) not recognized: {kwargs}{hint}")
        given = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for argument, value in given.items():
            check_optional_non_negative(value, argument)
        if sum(value is not None for value in given.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        self.weight_decay = check_optional_non_negative(weight_decay, "weight_decay")
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name if name is not None else unique_name(self.default_name)
        self.iterations = 0
        self.built = False
        self._variables = []            # the variables this optimizer was built for
        self._index = {}                # id(variable) -> position in _variables
        self._slots = {}                # slot name -> [buffer per variable]
        self._excluded_variables = {}   # id -> variable
        self._excluded_patterns = []

    # -- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a schedule is evaluated at ``iterations``)."""
        value = self._learning_rate
        if isinstance(value, schedules_module.LearningRateSchedule):
            value = value(self.iterations)
        elif callable(value):
            value = value(self.iterations) if _takes_an_argument(value) else value()
        if isinstance(value, Tensor):
            value = value.item()
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if not is_number(value) or value < 0:
            raise ValueError(f"The learning-rate schedule returned {value!r} at iteration "
                             f"{self.iterations}; expected a non-negative number.")
        return float(value)

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value):
            if not is_number(value) or value < 0:
                raise ValueError("Argument `learning_rate` must be a non-negative number, a "
                                 "schedule or a callable schedule(step). Received: "
                                 f"learning_rate={value!r}")
            if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
                raise TypeError("This optimizer was created with a learning-rate schedule "
                                f"({type(self._learning_rate).__name__}), so its learning "
                                "rate is not settable; create it with a number instead.")
        self._learning_rate = value

    @property
    def has_schedule(self):
        """True when the learning rate changes by itself (a schedule or a callable)."""
        return callable(self._learning_rate)

    # -- weight decay exclusions -----------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables from weight decay: those in ``var_list``, and those whose
        name matches (``re.search``) any regular expression in ``var_names``.

        Args:
            var_list (list of Variable or None, default None): variables to exempt.
            var_names (list of str or None, default None): regular expressions matched against
                the variables' names (``"bias"``).
        """
        variables = list(var_list or ())
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError(f"exclude_from_weight_decay: var_list must hold Variables, "
                                f"got {type(variable).__name__}.")
        if isinstance(var_names, str):
            var_names = [var_names]
        patterns = []
        for pattern in var_names or ():
            try:
                patterns.append(re.compile(pattern))
            except (re.error, TypeError) as e:
                raise ValueError(f"exclude_from_weight_decay: var_names entry {pattern!r} is "
                                 f"not a valid regular expression ({e}).") from None
        self._excluded_variables.update((id(v), v) for v in variables)
        self._excluded_patterns.extend(patterns)

    def _use_weight_decay(self, variable):
        if id(variable) in self._excluded_variables:
            return False
        names = [n for n in (variable.name, getattr(variable, "path", None)) if n]
        return not any(p.search(n) for p in self._excluded_patterns for n in names)

    # -- slots -----------------------------------------------------------------------
    def slot_specs(self):
        """``[(slot name, initial value), ...]`` this optimizer keeps per variable."""
        return []

    def build(self, variables):
        """Fix the variables this optimizer updates and create their slots (zeros, or
        each slot's initial value). Called by the first :meth:`apply`; building twice
        does nothing.

        Args:
            variables (list of Variable): the trainable variables this optimizer serves.
        """
        if self.built:
            return
        variables = list(variables)
        self._variables, self._index, self._slots = self._new_state(variables)
        self.built = True

    def _new_state(self, variables):
        index = {id(v): i for i, v in enumerate(variables)}
        slots = {}
        for slot, initial in self.slot_specs():
            slots[slot] = [Variable(np.full_like(v.data, initial), trainable=False,
                                    name=f"{v.name or 'variable'}_{slot}") for v in variables]
        return variables, index, slots

    def get_slot(self, variable, slot):
        """The ``slot`` buffer (a non-trainable Variable) kept for ``variable``.

        Args:
            variable (Variable): a variable the optimizer was built for.
            slot (str): the slot's name (``"momentum"``, ``"velocity"``...; see
                :meth:`slot_specs`).

        Returns:
            Variable

        Raises:
            KeyError: for a variable or slot this optimizer does not keep.
        """
        if slot not in self._slots:
            raise KeyError(f"{type(self).__name__} {self.name!r} has no slot {slot!r}; its "
                           f"slots are {list(self._slots) or 'none (not built yet?)'}.")
        if id(variable) not in self._index:
            raise KeyError(f"Variable {getattr(variable, 'name', variable)!r} is not one this "
                           "optimizer was built for.")
        return self._slots[slot][self._index[id(variable)]]

    @property
    def slot_names(self):
        return list(self._slots)

    @property
    def variables(self):
        """Every slot buffer, slot by slot (e.g. all momentums, then all velocities)."""
        return [buffer for buffers in self._slots.values() for buffer in buffers]

    # -- the step --------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(grad, variable), ...]`` (e.g. ``zip(grads, model.trainable_weights)``).

        Args:
            grads_and_vars (iterable of pairs): ``(gradient, Variable)`` pairs; a None
                gradient skips its variable.

        Returns:
            int: the new ``iterations``.

        Raises:
            ValueError: for an item that is not a pair, or as :meth:`apply`.
        """
        pairs = list(grads_and_vars)
        for position, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"apply_gradients expects (gradient, variable) pairs; item "
                                 f"{position} is {pair!r}.")
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables):
        """One optimizer step: clip, weight decay, update, constraints, ``iterations += 1``.

        All or nothing: on any error nothing changes.

        Args:
            grads (list): ndarrays or Tensors (or None: that variable is skipped), one per
                variable.
            trainable_variables (list of Variable): the variables, in the same order.

        Returns:
            int: the new ``iterations``.

        Raises:
            ValueError: for mismatched lists or shapes, a non-trainable or unknown variable
                (an optimizer serves the variables of its first step), or every gradient
                None.
        """
        all_variables = list(trainable_variables)
        grads, variables = self._check(list(grads), all_variables)
        if self.built:
            state = (self._variables, self._index, self._slots)
        else:
            state = self._new_state(all_variables)
        _, index, slots = state
        if self.clipnorm:
            grads = [clip_by_norm(g, self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            grads = clip_by_global_norm(grads, self.global_clipnorm)
        elif self.clipvalue:
            grads = [clip_by_value(g, self.clipvalue) for g in grads]
        lr = self.learning_rate
        context, new_scalars = self._begin_step(variables[0].dtype)
        values = []
        for variable in variables:
            w = variable.data
            if self.weight_decay is not None and self._use_weight_decay(variable):
                w = w * w.dtype.type(1 - self.weight_decay * lr)
            values.append(w)
        positions = [index[id(v)] for v in variables]
        current = {slot: [buffers[i].data for i in positions] for slot, buffers in slots.items()}
        if self.elementwise and len({v.dtype for v in variables}) == 1:
            new_weights, new_buffers = fused_update(self, grads, values, current, lr, context)
        else:
            new_weights, new_buffers = [], {}
            for k, (grad, w, variable) in enumerate(zip(grads, values, variables)):
                mine = {slot: arrays[k] for slot, arrays in current.items()}
                w, updated = self.update_step(grad, w, mine, lr, context)
                new_weights.append(np.asarray(w, dtype=variable.dtype))
                for slot, value in updated.items():
                    new_buffers.setdefault(slot, []).append(
                        np.asarray(value, dtype=variable.dtype))
        new_slots = [(slots[slot][i], value) for slot, arrays in new_buffers.items()
                     for i, value in zip(positions, arrays)]
        for position, variable in enumerate(variables):
            if variable.constraint is not None:
                # The constraint sees the new value as a Variable of the same name (as in
                # Keras); the real variable is not touched until the commit.
                candidate = Variable(new_weights[position], name=variable.name, trainable=False)
                projected = np.asarray(_data(variable.constraint(candidate)))
                if projected.shape != variable.shape:
                    raise ValueError(f"The constraint of variable {_label(variable, position)} "
                                     f"returned shape {projected.shape}, expected "
                                     f"{variable.shape}.")
                new_weights[position] = np.array(projected, dtype=variable.dtype)
        with interrupts_deferred():             # commit: only reference swaps from here
            if not self.built:
                self._variables, self._index, self._slots = state
                self.built = True
            for variable, value in zip(variables, new_weights):
                variable.data = value
            for buffer, value in new_slots:
                buffer.data = value
            for attribute, value in new_scalars.items():
                setattr(self, attribute, value)
            self.iterations += 1
        return self.iterations

    def _begin_step(self, dtype):
        """Per-step numbers shared by all variables: ``(context, new optimizer scalars)``.

        ``context["step"]`` is the 1-based step number t (``iterations + 1``). Subclasses
        with optimizer-wide state (Nadam's running product) add to both dicts; the new
        scalars are assigned as attributes when the step commits."""
        return {"step": self.iterations + 1}, {}

    def update_step(self, grad, value, slots, learning_rate, context):
        """The new ``(value, {slot: new buffer})`` of one variable. Pure: reads ``value``
        (the weight after weight decay), ``grad`` and ``slots`` (current arrays), writes
        nothing.

        Args:
            grad (ndarray): the (clipped) gradient.
            value (ndarray): the weight after weight decay.
            slots (dict): ``{slot name: current buffer}``.
            learning_rate (float): this step's rate.
            context (dict): per-step numbers shared by all variables (``step``, from 1).

        Returns:
            tuple: ``(new value, {slot name: new buffer})``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement update_step.")

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
            if self.built and (id(variable) not in self._index
                               or self._variables[self._index[id(variable)]] is not variable):
                raise ValueError(f"Unknown variable {_label(variable, position)}: optimizer "
                                 f"{self.name!r} was built for {len(self._variables)} other "
                                 "variables and can only update those. For a new set of "
                                 "variables (a new model), create a new optimizer.")
        missing = [_label(v, i) for i, (g, v) in enumerate(zip(grads, variables)) if g is None]
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: [{', '.join(missing)}]. "
                             "Is the loss connected to the variables (computed inside the "
                             "tape)?")
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
        if missing:
            warnings.warn(f"Gradients do not exist for variables [{', '.join(missing)}] when "
                          "minimizing the loss; they are not updated.", stacklevel=3)
        return arrays, [v for _, v in kept]

    # -- config ------------------------------------------------------------------------
    def get_config(self):
        learning_rate = self._learning_rate
        if isinstance(learning_rate, schedules_module.LearningRateSchedule):
            learning_rate = schedules_module.serialize(learning_rate)
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} iterations={self.iterations}>"


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _takes_an_argument(function):
    """Whether ``function`` can be called with one positional argument (the step)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(0)
        return True
    except TypeError:
        return False
