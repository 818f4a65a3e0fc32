"""Merge layers: combine a list of tensors into one.

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Minimum`` work
elementwise; ``Concatenate`` joins along an axis. They are how branches meet again in a
graph: a residual connection is ``Add()([x, shortcut])``.

Shapes follow Keras 3 (the batch axis ``N`` first)::

    Add()([a, b, ...])             a + b + ...          (N, ...) each -> broadcast shape
    Subtract()([a, b])             a - b                exactly two inputs
    Multiply()([a, b, ...])        a * b * ...
    Average()([a, b, ...])         (a + b + ...) / n
    Maximum()([a, b, ...])         elementwise max      (the gradient goes to the larger)
    Minimum()([a, b, ...])         elementwise min
    Concatenate(axis=-1)([a, b])   join on ``axis``     all other axes equal

Broadcasting (Keras's rule for merge layers): the batch sizes must agree; the other axes
are compared from the right, and a size of 1 stretches to the other size. When the
inputs differ in rank, the lower-rank ones get new axes of size 1 inserted right after
the batch axis (axis 1) until the ranks agree, then NumPy broadcasting applies.
Each merge is built from differentiable ops (``ops.add``, ``ops.maximum``, ...), so its
gradient is theirs.
"""
import numbers

import numpy as np

from .. import ops
from ..tape import layer_scope
from ..tensor import Tensor
from .base import Layer
from .reference import document, document_arguments


def _is_concrete(x):
    return isinstance(x, (Tensor, np.ndarray, numbers.Number)) or (
        isinstance(x, (list, tuple)) and all(_is_concrete(v) for v in x))


class Merge(Layer):
    """Base of the merge layers: takes a list of inputs, checks their shapes, returns one.

    Subclasses implement ``_merge_function(list_of_tensors)``; ``min_inputs`` /
    ``max_inputs`` bound the list's length.
    """

    min_inputs, max_inputs = 1, None
    _accepts_list = True            # the base Layer lets a list through to build/call

    def __call__(self, inputs, training=None, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be "
                             f"called on a list of inputs. Received: inputs of type "
                             f"{type(inputs).__name__} (not a list of tensors)")
        if not all(_is_concrete(x) for x in inputs):
            return super().__call__(inputs, training=training, **kwargs)   # symbolic
        tensors = [self._convert_input(x) for x in inputs]
        shapes = [t.shape for t in tensors]
        self._check_shapes(shapes)
        if not self.built:
            self._build_with(shapes)
        with layer_scope(self.name):
            outputs = self.call(tensors)
        self._activity_losses = []
        if self.activity_regularizer is not None:
            self._activity_losses.append(self._activity_penalty(outputs))
        return outputs

    def _check_count(self, shapes):
        n = len(shapes)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            wanted = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                      else f"at least {self.min_inputs}")
            raise ValueError(f"A `{type(self).__name__}` layer ('{self.name}') should be "
                             f"called on a list of {wanted} input"
                             f"{'s' if self.min_inputs > 1 else ''}. Received: {n} inputs "
                             f"with shapes {[tuple(s) for s in shapes]}")

    def _check_shapes(self, shapes):
        self._check_count(shapes)
        self.compute_output_shape(shapes)

    def build(self, input_shape):
        if not input_shape or not isinstance(input_shape[0], (tuple, list)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape} (not a list of shapes)")
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        ranks = [t.ndim for t in inputs]
        if len(set(ranks)) > 1:            # Keras: new axes after the batch axis
            top = max(ranks)
            inputs = [t if t.ndim == top else
                      ops.reshape(t, t.shape[:1] + (1,) * (top - t.ndim) + t.shape[1:])
                      for t in inputs]
        return self._merge_function(inputs)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        batches = {s[0] for s in input_shape if len(s)} - {None}
        if len(batches) > 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': cannot merge tensors with "
                             f"different batch sizes. Received tensors with shapes "
                             f"{[tuple(s) for s in input_shape]}")
        output = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output = self._elementwise_shape(output, tuple(shape[1:]))
        return (batches.pop() if batches else None,) + output

    def _elementwise_shape(self, shape1, shape2):
        """The broadcast shape of two per-sample shapes, compared from the right."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return shape1
        result = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                result.append(None)
            elif i == 1 or j == 1:
                result.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have "
                                 f"incompatible shapes. Received shapes {shape1} and {shape2} "
                                 f"(per sample, without the batch axis)")
            else:
                result.append(i)
        return tuple(result)


class Add(Merge):
    """Elementwise sum of the inputs: ``Add()([a, b, c]) == a + b + c``."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.add(out, t)
        return out


class Subtract(Merge):
    """``inputs[0] - inputs[1]``; exactly two inputs."""

    min_inputs = max_inputs = 2

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """Elementwise product of the inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.multiply(out, t)
        return out


class Average(Merge):
    """Elementwise mean of the inputs: the sum divided by their number."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.add(out, t)
        return ops.divide(out, float(len(inputs)))


class Maximum(Merge):
    """Elementwise maximum; the gradient goes to the input that holds it (the first one
    on ties)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.maximum(out, t)
        return out


class Minimum(Merge):
    """Elementwise minimum; the gradient goes to the input that holds it (the first one
    on ties)."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.minimum(out, t)
        return out


class Concatenate(Merge):
    """Join the inputs along ``axis`` (default -1, the channels of a channels_last image).

    All inputs have the same rank and the same sizes on every other axis; the output's
    ``axis`` is the sum of theirs. ``axis`` counts the batch axis (``axis=1`` is the first
    axis of a sample).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Concatenate: `axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise ValueError(f"Concatenate '{self.name}': a `Concatenate` layer requires "
                             f"inputs of the same rank with `axis`={self.axis} inside it. "
                             f"Received: input shapes {shapes}")
        axis = self.axis % rank
        output = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(output, shape)):
                if i == axis:
                    output[i] = None if a is None or b is None else a + b
                elif a is not None and b is not None and a != b:
                    raise ValueError(f"Concatenate '{self.name}': a `Concatenate` layer "
                                     f"requires inputs with matching shapes except for the "
                                     f"concatenation axis {self.axis}. Received: input shapes "
                                     f"{shapes[0]} and {shape} (they differ on axis {i})")
                elif a is None:
                    output[i] = b
        return tuple(output)

    def call(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
_BROADCAST = ("The batch sizes must agree; the other axes are compared from the right and a "
              "size of 1 stretches to the other size. A lower-rank input first gets axes of "
              "size 1 inserted right after the batch axis. Built from differentiable ops "
              "(``ops.add``, ``ops.maximum``, ...), so the gradient is theirs.")
for _cls, _summary, _formula, _result in (
        (Add, "Elementwise sum of a list of inputs (how a residual connection meets its "
              "shortcut: ``Add()([x, shortcut])``).", "y = x1 + x2 + ... + xn",
         "[[5.0, 7.0, 6.0]]"),
        (Subtract, "Elementwise difference of exactly two inputs.", "y = x1 - x2",
         "[[-3.0, 3.0, 0.0]]"),
        (Multiply, "Elementwise product of a list of inputs.", "y = x1 * x2 * ... * xn",
         "[[4.0, 10.0, 9.0]]"),
        (Average, "Elementwise mean of a list of inputs.", "y = (x1 + x2 + ... + xn) / n",
         "[[2.5, 3.5, 3.0]]"),
        (Maximum, "Elementwise maximum of a list of inputs.",
         "y = max(x1, x2, ..., xn), elementwise\n(the gradient goes to the input that holds "
         "the maximum, the first one on ties)", "[[4.0, 5.0, 3.0]]"),
        (Minimum, "Elementwise minimum of a list of inputs.",
         "y = min(x1, x2, ..., xn), elementwise\n(the gradient goes to the input that holds "
         "the minimum, the first one on ties)", "[[1.0, 2.0, 3.0]]")):
    document(
        _cls, _summary + " Called on a list: ``layer([x1, x2, ...])``.", _formula,
        "a list of tensors " + ("(exactly two)" if _cls is Subtract else "(at least one)")
        + ", each (batch, ...), of shapes that broadcast together.",
        "the broadcast shape of the inputs.", "none.",
        f"""
        >>> a, b = np.array([[1., 5., 3.]]), np.array([[4., 2., 3.]])
        >>> layers.{_cls.__name__}()([a, b]).numpy().tolist()
        {_result}
        """, aliases={"kwargs": "layer_kwargs",
                                    "activity_regularizer": "output_activity_regularizer"},
        notes=_BROADCAST)
document(Concatenate, "Joins a list of inputs along ``axis`` (the channels of channels_last "
                      "images by default). Called on a list: ``layer([x1, x2, ...])``.",
         "y = [x1, x2, ..., xn] side by side along ``axis``\n(the gradient is cut back into "
         "the inputs' pieces)",
         "a list of tensors of the same rank, equal on every axis but ``axis``.",
         "the inputs' shape, with ``axis`` the sum of theirs.", "none.",
         """
         >>> a, b = np.zeros((2, 3), "float32"), np.ones((2, 5), "float32")
         >>> layers.Concatenate()([a, b]).shape
         (2, 8)
         >>> layers.Concatenate(axis=0)([a, a]).shape
         (4, 3)
         """, aliases={"axis": "concat_axis"})
document_arguments(Merge, aliases={"kwargs": "layer_kwargs",
                                   "activity_regularizer": "output_activity_regularizer"})
