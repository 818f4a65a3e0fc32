"""``BatchNormalization`` and ``LayerNormalization``.

``BatchNormalization`` normalises each feature with batch (training) or moving
(inference) statistics, then scales by ``gamma`` and shifts by ``beta``.

For a feature c (the ``axis``), over all other axes (m elements)::

    training:   mu = mean(x),  var = mean((x - mu)^2)        (biased, as Keras)
                moving_mean     = moving_mean     * momentum + mu  * (1 - momentum)
                moving_variance = moving_variance * momentum + var * (1 - momentum)
    inference:  mu = moving_mean, var = moving_variance

    y = gamma * (x - mu) / sqrt(var + epsilon) + beta

``LayerNormalization`` normalises each sample on its own, over the ``axis`` features
(no batch statistics, nothing moving, the same in training and inference)::

    mu = mean(x, axis),  var = mean((x - mu)^2, axis)
    y = gamma * (x - mu) / sqrt(var + epsilon) + beta
"""
import numbers

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..ops.normalization import batch_norm
from .base import InputSpec, Layer
from .reference import document


class BatchNormalization(Layer):
    """Normalise the ``axis`` features of a batch; keep moving statistics for inference.

    axis: the feature axis (int, default -1: channels_last).
    momentum: weight of the old value in the moving averages (0.99).
    epsilon: added to the variance before the square root (1e-3).
    center / scale: learn ``beta`` / ``gamma`` (shape (C,)).
    synchronized: accepted for Keras compatibility; minigrad runs on one device.

    Weights, in order: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable) — 4*C parameters, 2*C trainable.

    ``training=True`` normalises with the batch's statistics and updates the moving ones;
    ``training=False`` or None uses the moving statistics. A frozen layer
    (``trainable=False``) always runs in inference mode, as in Keras 3.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(synchronized, (bool, np.bool_)):
            raise ValueError(f"BatchNormalization: `synchronized` must be a boolean. "
                             f"Received: synchronized={synchronized!r}")
        self.synchronized = bool(synchronized)      # one device: nothing to synchronise
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"BatchNormalization: `axis` must be an integer. Received: "
                            f"axis={axis!r}")
        self.axis = int(axis)
        for argument, value in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"BatchNormalization: `{argument}` must be a float. "
                                f"Received: {argument}={value!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: `momentum` must be in [0, 1]. Received: "
                             f"momentum={momentum!r}")
        if not 0 < epsilon < float("inf"):
            raise ValueError(f"BatchNormalization: `epsilon` must be a finite positive float. "
                             f"Received: epsilon={epsilon!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        _gamma_beta_arguments(self, center, scale, beta_initializer, gamma_initializer,
                              beta_regularizer, gamma_regularizer, beta_constraint,
                              gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or ndim < 1:
            raise ValueError(f"BatchNormalization '{self.name}': axis={self.axis} is out of "
                             f"range for inputs of shape {tuple(input_shape)}")
        axis = self.axis % ndim
        channels = input_shape[axis]
        if channels is None or channels <= 0:
            raise ValueError(f"BatchNormalization '{self.name}': the feature axis "
                             f"{self.axis} of the input shape {tuple(input_shape)} must have a "
                             f"known positive size. Received size {channels}.")
        shape = (channels,)
        _add_gamma_beta(self, shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})
        self.built = True

    def call(self, inputs, training=None):
        use_batch_stats = bool(training) and self.trainable
        if use_batch_stats and inputs.data.size == 0:
            raise ValueError(f"BatchNormalization '{self.name}': cannot compute batch "
                             f"statistics of an empty input (shape {inputs.shape}).")
        y, mean, variance = batch_norm(inputs, self.moving_mean.data,
                                       self.moving_variance.data, self.gamma, self.beta,
                                       self.epsilon, self.axis, use_batch_stats)
        if use_batch_stats:
            m = self.momentum
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                # a fresh array of the right shape: swapped in as the optimizer does, without
                # assign()'s defensive copy (a tape that recorded the old one keeps it)
                moving.data = np.asarray(moving.data * m + batch * (1 - m), moving.dtype)
        return y

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale, "synchronized": self.synchronized,
            **_gamma_beta_config(self),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer":
                initializers.serialize(self.moving_variance_initializer),
        })
        return config


class LayerNormalization(Layer):
    """Normalise every sample over the ``axis`` features, then scale and shift.

    axis: int or list of ints (the normalised axes, batch axis excluded), default -1.
    epsilon: added to the variance (1e-3). center / scale: learn ``beta`` / ``gamma``.
    Weights: gamma then beta, each shaped like the input on ``axis`` (e.g. (C,)).
    Built from differentiable ops (mean, square, sqrt, ...), so its gradient — and its
    gradient's gradient — is theirs.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        items = axis if isinstance(axis, (list, tuple)) else [axis]
        if not items or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                for a in items):
            raise TypeError(f"LayerNormalization: expected an int or a list/tuple of ints for "
                            f"the argument `axis`. Received: axis={axis!r}")
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) \
                or not 0 < epsilon < float("inf"):
            raise ValueError(f"LayerNormalization: `epsilon` must be a finite positive float. "
                             f"Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        _gamma_beta_arguments(self, center, scale, beta_initializer, gamma_initializer,
                              beta_regularizer, gamma_regularizer, beta_constraint,
                              gamma_constraint)
        if rms_scaling is not False:
            raise ValueError(f"LayerNormalization: `rms_scaling=True` is deprecated in Keras "
                             f"and not implemented in minigrad. Received: "
                             f"rms_scaling={rms_scaling!r}")
        self.rms_scaling = False

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim or a % ndim == 0:
                raise ValueError(f"LayerNormalization '{self.name}': axis {a} is out of "
                                 f"bounds for input of rank {ndim} (the batch axis 0 cannot "
                                 f"be normalised). Received: axis={self.axis}")
        return sorted({a % ndim for a in axes})

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(s is None or s <= 0 for s in shape):
            raise ValueError(f"LayerNormalization '{self.name}': the normalised axes "
                             f"{self.axis} of the input shape {tuple(input_shape)} must have "
                             f"known positive sizes.")
        _add_gamma_beta(self, shape)
        self.input_spec = InputSpec(ndim=len(input_shape),
                                    axes={a: input_shape[a] for a in axes})
        # As Keras: once built, ``axis`` is a sorted list (also in ``get_config``).
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self.built = True

    def call(self, inputs):
        axes = tuple(self._axes(inputs.ndim))
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        centered = inputs - mean
        variance = ops.mean(ops.square(centered), axis=axes, keepdims=True)
        y = centered / ops.sqrt(variance + np.asarray(self.epsilon, inputs.dtype))
        # gamma and beta cover the normalised axes; size-1 axes elsewhere broadcast them.
        bshape = tuple(n if i in axes else 1 for i, n in enumerate(inputs.shape))
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, bshape)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, bshape)
        return y

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling, **_gamma_beta_config(self),
        })
        return config


# -- the learned scale (gamma) and shift (beta) both layers have ----------------------------
def _gamma_beta_arguments(layer, center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer, beta_constraint,
                          gamma_constraint):
    """Check ``center`` / ``scale`` and keep the initializers, regularizers and constraints
    of ``beta`` / ``gamma`` on ``layer`` (the weights themselves come in ``build``)."""
    for argument, value in (("center", center), ("scale", scale)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{type(layer).__name__}: `{argument}` must be a boolean. "
                             f"Received: {argument}={value!r}")
    layer.center, layer.scale = bool(center), bool(scale)
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)
    layer.gamma = layer.beta = None


def _add_gamma_beta(layer, shape):
    """Create ``gamma`` (when ``scale``) then ``beta`` (when ``center``), both of ``shape``."""
    if layer.scale:
        layer.gamma = layer.add_weight("gamma", shape, layer.gamma_initializer,
                                       layer.gamma_regularizer, layer.gamma_constraint)
    if layer.center:
        layer.beta = layer.add_weight("beta", shape, layer.beta_initializer,
                                      layer.beta_regularizer, layer.beta_constraint)


def _gamma_beta_config(layer):
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
        "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
        "beta_constraint": constraints.serialize(layer.beta_constraint),
        "gamma_constraint": constraints.serialize(layer.gamma_constraint),
    }


# -- the reference help() shows (assembled by layers/reference.py) -------------------------
document(BatchNormalization,
         "Normalises each feature over the batch (and every other axis but ``axis``), then "
         "scales and shifts it by learned gamma and beta; keeps moving statistics for inference.",
         """training=True:   y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta
                 moving_mean = momentum * moving_mean + (1 - momentum) * mean_B
                 (and likewise moving_variance with var_B)
otherwise:       y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta
(mean_B, var_B: over every axis but ``axis``; a frozen layer, trainable=False, always
uses the moving statistics, as in Keras 3)""",
         "any rank >= 2; ``axis`` is the feature axis.", "the input's shape.",
         """gamma, beta          (C,)   trainable (if scale / center)
moving_mean, moving_variance   (C,)   not trainable
4*C parameters, 2*C of them trainable.""",
         ("BatchNormalization()", (4, 3), (4, 3), 12))
document(LayerNormalization,
         "Normalises every sample on its own over the ``axis`` features, then scales and shifts "
         "it by learned gamma and beta; the same at training and at inference.",
         """y = gamma * (x - mean) / sqrt(var + epsilon) + beta
(mean, var: of each sample over ``axis``; built from differentiable ops, so the
gradient, and the gradient's gradient, are theirs)""",
         "any rank >= 2; the ``axis`` sizes must be known.", "the input's shape.",
         """gamma   shaped like the input on ``axis``, e.g. (C,)   if scale
beta    the same   if center
Parameters: 2*C for axis=-1, all trainable.""",
         ("LayerNormalization()", (4, 6), (4, 6), 12), aliases={"axis": "layernorm_axis"})
