"""The reference section of a layer's docstring, assembled from its constructor's signature.

``help(layers.SeparableConv2D)`` should read like a reference page: every argument with its
type and default, the input and output shapes, the formula, the weights, an example. The
arguments are the same across many layers (``kernel_initializer``, ``padding``, ...), so
each is described once, in :data:`ARGUMENTS`, and :func:`document` lists a class's
arguments in the order and with the defaults of its own ``__init__`` — the docstring cannot
drift from the code. ``tests/test_docstrings.py`` checks every documented class and runs
each example.
"""
import inspect
import textwrap

_LENGTHS = ('"valid" (no padding: out = floor((L - d*(k-1) - 1) / s) + 1) or "same" (zeros '
            "around the input so that out = ceil(L / s); an odd extra zero goes at the end)")

# name -> (type, description); "{causal}" is filled in for 1D layers.
ARGUMENTS = {
    "units": ("int", "the size of the output's last axis."),
    "filters": ("int", "F, the number of output channels."),
    "kernel_size": ("int or tuple", "k, the window size along each spatial axis."),
    "pool_size": ("int or tuple", "k, the window size along each spatial axis."),
    "strides": ("int or tuple", "s, how far the window moves per output position, per axis. "
                "``strides > 1`` together with ``dilation_rate > 1`` raises ValueError."),
    "pool_strides": ("int, tuple or None", "s, how far the window moves per output position; "
                     "None means ``pool_size`` (windows side by side)."),
    "padding": ("str", _LENGTHS + "{causal}."),
    "pool_padding": ("str", '"valid" (windows inside the input: out = floor((L - k) / s) + 1) '
                     'or "same" (out = ceil(L / s); windows may reach past the edges, where '
                     "nothing is counted)."),
    "depth_multiplier": ("int", "M, depthwise filters per input channel; output channel "
                         "``c*M + m`` is filter m of input channel c."),
    "data_format": ("str or None", '"channels_last" (N, *spatial, C) or "channels_first" '
                    "(N, C, *spatial); None means ``mg.config.image_data_format()``. Weight "
                    "shapes are the same for both."),
    "dilation_rate": ("int or tuple", "d, the spacing between the taps of the window, which "
                      "then covers d*(k-1)+1 positions."),
    "groups": ("int", "must be 1 (grouped convolution is not implemented)."),
    "activation": ("str, callable or None", 'applied to the output: a name such as "relu" '
                   "(see :mod:`minigrad.activations`), any function of a Tensor, or None."),
    "use_bias": ("bool", "add one learned bias per output channel."),
    "kernel_initializer": ("str or Initializer", "initial kernel (:mod:`minigrad.initializers`)."),
    "depthwise_initializer": ("str or Initializer", "initial depthwise kernel (:mod:`minigrad.initializers`)."),
    "pointwise_initializer": ("str or Initializer", "initial pointwise kernel."),
    "bias_initializer": ("str or Initializer", "initial bias."),
    "kernel_regularizer": ("Regularizer or None", "penalty on the kernel, added to "
                           "``layer.losses`` (:mod:`minigrad.regularizers`)."),
    "depthwise_regularizer": ("Regularizer or None", "penalty on the depthwise kernel, added "
                              "to ``layer.losses`` (:mod:`minigrad.regularizers`)."),
    "pointwise_regularizer": ("Regularizer or None", "penalty on the pointwise kernel."),
    "bias_regularizer": ("Regularizer or None", "penalty on the bias."),
    "activity_regularizer": ("Regularizer or None", "penalty on the output (after the "
                             "activation), divided by the batch size, in ``layer.losses``."),
    "kernel_constraint": ("Constraint or None", "projection of the kernel after each "
                          "optimizer step (:mod:`minigrad.constraints`)."),
    "depthwise_constraint": ("Constraint or None", "projection of the depthwise kernel after "
                             "each optimizer step (:mod:`minigrad.constraints`)."),
    "pointwise_constraint": ("Constraint or None", "projection of the pointwise kernel after each step."),
    "bias_constraint": ("Constraint or None", "projection of the bias after each step."),
    "activation_fn": ("str or callable", 'the function: a name such as "relu" (see '
                      ":mod:`minigrad.activations`) or any function of a Tensor."),
    "rate": ("float", "the fraction of inputs set to 0 in training, in [0, 1)."),
    "noise_shape": ("tuple or None", "the shape of the random mask, broadcast over the input; "
                    "None entries take the input's size (``(None, 1, None)``: one mask per "
                    "sample and channel, shared along the steps)."),
    "seed": ("int or None", "makes the sequence of masks reproducible; None draws it from "
             ":mod:`minigrad.random` (``mg.set_random_seed``)."),
    "axis": ("int", "the feature axis, normalised over all the others (-1: channels_last)."),
    "momentum": ("float", "weight of the old value in the moving averages."),
    "epsilon": ("float", "added to the variance before the square root."),
    "center": ("bool", "learn the offset ``beta``."),
    "scale": ("bool", "learn the scale ``gamma``."),
    "beta_initializer": ("str or Initializer", "initial beta."),
    "gamma_initializer": ("str or Initializer", "initial gamma."),
    "moving_mean_initializer": ("str or Initializer", "initial moving mean."),
    "moving_variance_initializer": ("str or Initializer", "initial moving variance."),
    "beta_regularizer": ("Regularizer or None", "penalty on beta, in ``layer.losses``."),
    "gamma_regularizer": ("Regularizer or None", "penalty on gamma, in ``layer.losses``."),
    "beta_constraint": ("Constraint or None", "projection of beta after each optimizer step."),
    "gamma_constraint": ("Constraint or None", "projection of gamma after each optimizer step."),
    "synchronized": ("bool", "accepted for Keras compatibility; minigrad runs on one device."),
    "keepdims": ("bool", "keep the pooled axes with length 1."),
    "flatten_data_format": ("str or None", 'with "channels_first" the channel axis is moved last '
                            "before flattening, so the element order matches a channels_last "
                            "model; None means ``mg.config.image_data_format()``."),
    # -- the keywords of Layer itself (for layers that take no others) --------------------
    "trainable": ("bool", "False freezes every weight (no updates, no weight penalties)."),
    "dtype": ("str or None", '"float32" or "float64", the dtype the layer computes in; None '
              "means ``mg.config.floatx()``."),
    "input_shape": ("tuple or None", "the shape of one sample (no batch axis); a Sequential "
                    "that starts with this layer builds at once."),
    "batch_input_shape": ("tuple or None", "the shape with the batch axis (None for any batch "
                          "size), instead of ``input_shape``."),
    "batch_size": ("int or None", "fixes the batch size, together with ``input_shape``."),
    "weights": ("list of arrays or None", "initial weights, set right after the first build."),
    "input_dim": ("int or None", "``input_dim=n`` means ``input_shape=(n,)``."),
    "output_activity_regularizer": ("Regularizer or None", "penalty on the output, divided "
                                    "by the batch size, in ``layer.losses``."),
    "layer_kwargs": ("", "any other keyword raises ValueError, naming it."),
    # -- arguments of one layer family each ---------------------------------------------
    "spatial_data_format": ("str or None", '"channels_last" (N, *spatial, C) or '
                            '"channels_first" (N, C, *spatial); None means '
                            "``mg.config.image_data_format()``."),
    "concat_axis": ("int", "the axis the inputs are joined along; it counts the batch axis "
                    "(``axis=1`` is the first axis of a sample)."),
    "softmax_axis": ("int or tuple", "the axis (or axes, normalised together) the "
                     "probabilities sum to 1 over."),
    "layernorm_axis": ("int or list", "the axis (or axes) every sample is normalised over; "
                       "never the batch axis."),
    "rms_scaling": ("bool", "must be False (deprecated in Keras, not implemented)."),
    "zero_padding_1d": ("int or tuple", "zeros added: an int (both ends) or ``(start, end)``."),
    "zero_padding_2d": ("int or tuple", "zeros added: an int (all sides), ``(h, w)`` "
                        "(symmetric) or ``((top, bottom), (left, right))``."),
    "cropping_1d": ("int or tuple", "steps removed: an int (both ends) or ``(start, end)``."),
    "cropping_2d": ("int or tuple", "rows and columns removed: an int (all sides), "
                    "``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``."),
    "size_1d": ("int", "how many times each step is repeated (> 0)."),
    "size_2d": ("int or tuple", "``(sh, sw)``: how many times each row and each column is "
                "repeated (an int for both, > 0)."),
    "interpolation": ("str", '"nearest" (the only method minigrad implements).'),
    "max_value": ("float or None", "the ceiling (>= 0); None for none. ``ReLU(6.)`` is "
                  "MobileNet's ReLU6."),
    "negative_slope": ("float", "the slope below the threshold (>= 0); 0 gives a plain ReLU."),
    "leaky_negative_slope": ("float", "the slope for x <= 0 (>= 0); the function "
                             "``activations.leaky_relu`` defaults to 0.2, this layer to 0.3 as "
                             "in Keras 3; ``alpha=`` is accepted as the old name, with a "
                             "DeprecationWarning."),
    "threshold": ("float", "inputs at or below it are damped (>= 0)."),
    "l1": ("float", "weight of sum|y| (>= 0)."),
    "l2": ("float", "weight of sum y^2 (>= 0)."),
    "target_shape": ("tuple", "the shape of one output sample (no batch axis); one entry may "
                     "be -1, inferred from the size."),
    "rescale_scale": ("float or array", "the factor; an array broadcasts against one sample "
                      "(e.g. one value per channel)."),
    "offset": ("float or array", "added after scaling, broadcast like ``scale``."),
    "shape": ("tuple or None", "the shape of one sample (no batch axis), e.g. ``(8, 8, 1)``; "
              "None entries are free."),
    "input_batch_size": ("int or None", "a fixed batch size; None for any."),
    "batch_shape": ("tuple or None", "the full shape with the batch axis, instead of "
                    "``shape`` and ``batch_size``."),
    "input_layer_input_shape": ("tuple or None", "the Keras 2 spelling of ``shape``."),
    "input_layer_batch_input_shape": ("tuple or None", "the Keras 2 spelling of ``batch_shape``."),
    "base_filters": ("int or None", "F, the number of output channels (separable layers "
                     "only; None for depthwise)."),
    "base_layer_kwargs": ("dict or None", "the keywords passed on to "
                          ":class:`~minigrad.layers.Layer` (``name``, ``dtype``, ...)."),
    "name": ("str or None", "the layer's name; None gives a unique default (``dense``, "
             "``dense_1``, ...; :func:`~minigrad.layers.clear_session` starts them again)."),
    "kwargs": ("", "``name``, ``dtype``, ``trainable``, ``input_shape``: as for every "
               ":class:`~minigrad.layers.Layer`."),
}
_CAUSAL = '; "causal" (1D only) pads d*(k-1) zeros at the start, so an output never sees a later step'


def _arguments(cls, rank, aliases):
    lines = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        kind, text = ARGUMENTS[aliases.get(p.name, p.name)]
        text = text.format(causal=_CAUSAL if rank == 1 and "conv" in cls.__name__.lower() else "")
        if p.kind is p.VAR_KEYWORD:
            line = f"**{p.name}: {text}"
        else:
            default = "" if p.default is p.empty else f", default {p.default!r}"
            line = f"{p.name} ({kind}{default}): {text}"
        lines.append(textwrap.fill(line, 92, initial_indent="    ", subsequent_indent="        "))
    return "\n".join(lines)


def document(cls, summary, formula, input_shape, output_shape, weights, example, rank=None,
             aliases=None, notes=None):
    """Give ``cls`` its full reference docstring; returns ``cls``.

    Args:
        cls (type): the layer class.
        summary (str): the first paragraph.
        formula (str): a text block (indented by 4 in the result).
        input_shape (str): one or two lines.
        output_shape (str): one or two lines.
        weights (str): a text block ("none." for a layer without weights).
        example (tuple or str): ``(call, input shape, output shape, parameter count)``,
            shown as ``>>>`` lines, or those lines themselves as a string, for layers that
            are not called on one array (``tests/test_docstrings.py`` runs them).
        rank (int or None, default None): 1 adds the "causal" padding to a 1D
            convolution's ``padding``.
        aliases (dict or None, default None): parameter name -> the :data:`ARGUMENTS`
            entry that describes it.
        notes (str or None, default None): a text block shown after the weights.

    Returns:
        type: ``cls``.
    """
    def indent(text):
        return "\n".join(textwrap.fill(line, 92, initial_indent="    ", subsequent_indent="    ")
                         for line in textwrap.dedent(text).strip("\n").splitlines())
    if isinstance(example, str):
        lines = textwrap.dedent(example).strip("\n")
    else:
        call, in_shape, out_shape, n_params = example
        lines = f""">>> layer = layers.{call}
>>> layer(np.zeros({in_shape}, "float32")).shape
{out_shape}
>>> layer.count_params()
{n_params}"""
    notes = f"\nNotes:\n{indent(notes)}\n" if notes else ""
    cls.__doc__ = f"""{textwrap.fill(summary, 92)}

Formula:
{indent(formula)}

Args:
{_arguments(cls, rank, aliases or {})}

Input shape:
{indent(input_shape)}

Output shape:
{indent(output_shape)}

Weights:
{indent(weights)}
{notes}
Example:
{textwrap.indent(lines, "    ")}
"""
    return cls


def document_arguments(cls, aliases=None):
    """Append an ``Args:`` section to the docstring of a base class (``Conv``, ``Merge``...),
    listed from :data:`ARGUMENTS` like :func:`document`'s.

    Args:
        cls (type): the base class.
        aliases (dict or None, default None): as for :func:`document`.

    Returns:
        type: ``cls``.
    """
    cls.__doc__ = (f"{inspect.cleandoc(cls.__doc__)}\n\nArgs:\n"
                   f"{_arguments(cls, None, aliases or {})}\n")
    return cls
