"""Reference architectures, written with the functional API and sized for a laptop.

The networks depthwise and separable convolutions were invented for, as model builders
(each returns an unbuilt-weights ``mg.Model`` you can ``compile`` and ``fit``):

``MobileNet``     v1: a 3x3 convolution, then 13 depthwise-separable blocks
                  (DepthwiseConv2D -> BN -> ReLU6 -> 1x1 Conv2D -> BN -> ReLU6).
``MobileNetV2``   inverted residual blocks: a 1x1 convolution *expands* the channels
                  (x6), a 3x3 depthwise convolution filters them, a 1x1 convolution
                  *projects* back to few channels with no activation (the linear
                  bottleneck), and an ``Add`` joins input and output when shapes agree.
``MiniXception``  Xception's entry flow, shrunk: separable convolutions in blocks whose
                  input skips past them through a strided 1x1 convolution.
``TCN``           a temporal convolutional network for sequences: residual blocks of
                  causal, dilated ``SeparableConv1D`` (each output step sees only the
                  past; the dilations 1, 2, 4, ... double the history it sees per block).

``MobileNet`` and ``MobileNetV2`` follow ``keras.applications`` layer for layer (names,
order, arguments), so for the same ``input_shape``, ``alpha`` and ``classes`` they have
the same parameter counts and ``model.set_weights(keras_model.get_weights())`` gives the
same predictions. Strided depthwise steps are ``ZeroPadding2D`` + ``padding="valid"``, as
in Keras: the padding is put where the original TensorFlow models put it.
Pretrained (ImageNet) weights are not available: ``weights`` is None or a weights file.
"""
import numbers

from . import config as _config, layers


def _functional():
    """``Input`` and ``Model`` (imported late: the models package imports the layers)."""
    from .layers import Input
    from .models import Model
    return Input, Model


def _check(value, argument, owner, kind=numbers.Real, positive=True):
    if isinstance(value, bool) or not isinstance(value, kind) or (positive and value <= 0):
        raise ValueError(f"{owner}: `{argument}` must be a positive "
                         f"{'integer' if kind is numbers.Integral else 'number'}. "
                         f"Received: {argument}={value!r}")
    return value


def _image_input(input_shape, input_tensor, default_size, min_size, owner):
    """The model's input (``mg.Input``) and its (rows, cols), checking the size."""
    Input, _ = _functional()
    if input_tensor is not None:
        return input_tensor, _rows_cols(tuple(input_tensor.shape[1:]))
    channels_first = _config.image_data_format() == "channels_first"
    if input_shape is None:
        input_shape = (3, default_size, default_size) if channels_first else \
            (default_size, default_size, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{owner}: `input_shape` must be (rows, cols, channels) (or "
                         f"(channels, rows, cols) with channels_first). Received: "
                         f"input_shape={input_shape}")
    rows, cols = _rows_cols(input_shape)
    if any(s is not None and s < min_size for s in (rows, cols)):
        raise ValueError(f"{owner}: input size must be at least {min_size}x{min_size}. "
                         f"Received: input_shape={input_shape}")
    return Input(shape=input_shape), (rows, cols)


def _rows_cols(sample_shape):
    if _config.image_data_format() == "channels_first":
        return sample_shape[1], sample_shape[2]
    return sample_shape[0], sample_shape[1]


def _channel_axis():
    return 1 if _config.image_data_format() == "channels_first" else -1


def _finish(inputs, x, name, weights, owner):
    _, Model = _functional()
    model = Model(inputs, x, name=name)
    if weights == "imagenet":
        raise ValueError(f"{owner}: pretrained ImageNet weights are not available in "
                         "minigrad; pass weights=None (random initialisation) or the path "
                         "of a weights file saved from this architecture.")
    if weights is not None:
        model.load_weights(weights)
    return model


def _head(x, include_top, pooling, classes, classifier_activation):
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D()(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D()(x)
    if pooling is not None:
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'. Received: "
                         f"pooling={pooling!r}")
    return x


# ---------------------------------------------------------------------------- MobileNet v1
def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3,  # noqa: N802
              include_top=True, weights=None, input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """MobileNet v1 (Howard et al. 2017), as ``keras.applications.MobileNet``.

    alpha: width multiplier: every layer gets ``int(filters * alpha)`` filters.
    depth_multiplier: of the depthwise convolutions (resolution multiplier in the paper).
    input_shape: (rows, cols, channels), at least 32x32; default (224, 224, 3).
    With ``include_top`` the head is GlobalAveragePooling2D(keepdims) -> Dropout ->
    1x1 Conv2D(classes) -> Reshape -> Activation, as in Keras.

    Args:
        input_shape (tuple or None, default None): as above.
        alpha (float, default 1.0): as above.
        depth_multiplier (int, default 1): as above.
        dropout (float, default 0.001): the rate of the Dropout in the head.
        include_top (bool, default True): end with the classifier; False stops at the last
            feature map (see ``pooling``).
        weights (str or None, default None): None for random initialisation, or the path of
            a weights file saved from this architecture ("imagenet" raises: not available).
        input_tensor (SymbolicTensor or None, default None): an ``mg.Input`` to build on,
            instead of a new one from ``input_shape``.
        pooling (str or None, default None): without the top, "avg" or "max" global pooling
            of the last feature map, or None to keep it.
        classes (int, default 1000): the number of classes (with the top).
        classifier_activation (str, callable or None, default "softmax"): of the last layer.
        name (str or None, default None): the model's name; None gives Keras's.

    Returns:
        Model: a functional model, weights initialised (or loaded from ``weights``).

    Raises:
        ValueError: for an input smaller than 32x32, an unknown ``pooling``, or
            ``weights="imagenet"``.
    """
    _check(alpha, "alpha", "MobileNet")
    _check(depth_multiplier, "depth_multiplier", "MobileNet", numbers.Integral)
    _check(classes, "classes", "MobileNet", numbers.Integral)
    inputs, (rows, _) = _image_input(input_shape, input_tensor, 224, 32, "MobileNet")
    axis = _channel_axis()
    x = layers.Conv2D(int(32 * alpha), 3, padding="same", use_bias=False, strides=2,
                      name="conv1")(inputs)
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
        [(1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, start=1):
        x = _depthwise_separable_block(x, int(filters * alpha), depth_multiplier, stride,
                                       block_id, axis)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _head(x, False, pooling, classes, classifier_activation)
    return _finish(inputs, x, name or f"mobilenet_{alpha:0.2f}_{rows}", weights, "MobileNet")


def _depthwise_separable_block(x, filters, depth_multiplier, stride, block_id, axis):
    """3x3 depthwise (stride 1 "same", or pad bottom/right + stride 2 "valid") -> BN ->
    ReLU6 -> 1x1 convolution to ``filters`` -> BN -> ReLU6."""
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(3, padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=stride,
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


# ---------------------------------------------------------------------------- MobileNet v2
def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to a multiple of ``divisor`` (at least ``min_value``), never
    going more than 10% below it -- MobileNetV2's channel counts.

    Args:
        value (float): the channel count asked for.
        divisor (int, default 8): the multiple.
        min_value (int or None, default None): the smallest result; None means ``divisor``.

    Returns:
        int

    Example:
        >>> make_divisible(37.5), make_divisible(10)
        (40, 16)
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights=None,  # noqa: N802
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None):
    """MobileNetV2 (Sandler et al. 2018), as ``keras.applications.MobileNetV2``.

    alpha: width multiplier (channels rounded by :func:`make_divisible`).
    input_shape: (rows, cols, channels), at least 32x32; default (224, 224, 3).
    17 inverted residual blocks: (expansion t, output channels c, repeats n, stride s) =
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
    (6, 160, 3, 2), (6, 320, 1, 1); then a 1x1 convolution to 1280 channels.

    Args:
        input_shape (tuple or None, default None): as above.
        alpha (float, default 1.0): as above.
        include_top (bool, default True): end with the classifier; False stops at the last
            feature map (see ``pooling``).
        weights (str or None, default None): None for random initialisation, or the path of
            a weights file saved from this architecture ("imagenet" raises: not available).
        input_tensor (SymbolicTensor or None, default None): an ``mg.Input`` to build on,
            instead of a new one from ``input_shape``.
        pooling (str or None, default None): without the top, "avg" or "max" global pooling
            of the last feature map, or None to keep it.
        classes (int, default 1000): the number of classes (with the top).
        classifier_activation (str, callable or None, default "softmax"): of the last layer.
        name (str or None, default None): the model's name; None gives Keras's.

    Returns:
        Model: a functional model, weights initialised (or loaded from ``weights``).

    Raises:
        ValueError: for an input smaller than 32x32, an unknown ``pooling``, or
            ``weights="imagenet"``.
    """
    _check(alpha, "alpha", "MobileNetV2")
    _check(classes, "classes", "MobileNetV2", numbers.Integral)
    inputs, (rows, _) = _image_input(input_shape, input_tensor, 224, 32, "MobileNetV2")
    axis = _channel_axis()
    x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=2, padding="same",
                      use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    block_id = 0
    for expansion, filters, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                                                (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                                                (6, 320, 1, 1)]:
        for i in range(repeats):
            x = inverted_residual_block(x, expansion, stride if i == 0 else 1, alpha,
                                        filters, block_id)
            block_id += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = _head(x, include_top, pooling, classes, classifier_activation)
    return _finish(inputs, x, name or f"mobilenetv2_{alpha:0.2f}_{rows}", weights,
                   "MobileNetV2")


def correct_pad(shape, kernel_size=3):
    """``ZeroPadding2D`` amounts that make a stride-2 "valid" convolution line up like
    TensorFlow's "same": one less row/column at the top/left when the size is even.

    Args:
        shape (tuple): the input's shape without the batch axis, (rows, cols, channels).
        kernel_size (int or tuple, default 3): the convolution's kernel size.

    Returns:
        tuple: ``((top, bottom), (left, right))`` for ``ZeroPadding2D``.

    Example:
        >>> correct_pad((32, 32, 3)), correct_pad((33, 33, 3))
        (((0, 1), (1, 1)), ((1, 1), (1, 1)))
    """
    rows, cols = _rows_cols(tuple(shape[1:]))
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    half = kernel_size // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


def inverted_residual_block(inputs, expansion, stride, alpha, filters, block_id,
                            bn_momentum=0.999):
    """MobileNetV2's block: expand (1x1, ``expansion`` x channels, BN, ReLU6) -> 3x3
    depthwise (BN, ReLU6) -> project (1x1 to ``make_divisible(filters * alpha)``, BN, no
    activation) -> ``Add`` with the input when stride is 1 and the channels agree.

    Block 0 has no expansion step (its layers are named ``expanded_conv_*``, as in Keras).
    bn_momentum: of the BatchNormalization layers (Keras's 0.999 suits long trainings;
    a few hundred steps need less, e.g. 0.9, for the moving statistics to catch up).

    Args:
        inputs (SymbolicTensor): the block's input, (batch, rows, cols, channels).
        expansion (int): t, the expansion factor of the first 1x1 convolution.
        stride (int): 1 or 2, of the depthwise convolution.
        alpha (float): the width multiplier.
        filters (int): the output channels before ``alpha``.
        block_id (int): numbers the layer names (``block_{id}_...``).
        bn_momentum (float, default 0.999): as above.

    Returns:
        SymbolicTensor: the block's output.
    """
    axis = _channel_axis()
    in_channels = inputs.shape[axis]
    out_channels = make_divisible(int(filters * alpha))
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=bn_momentum,
                                      name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(correct_pad(x.shape), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=bn_momentum,
                                  name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=bn_momentum,
                                  name=f"{prefix}project_BN")(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


# ---------------------------------------------------------------------------- Xception
def MiniXception(input_shape=(32, 32, 3), classes=10, stem_filters=(16, 32),  # noqa: N802
                 block_filters=(64, 128), include_top=True, pooling=None,
                 classifier_activation="softmax", name="mini_xception"):
    """Xception's entry flow (Chollet 2017), at laptop size.

    Stem: Conv2D(stem_filters[0], 3, strides 2, valid) -> BN -> ReLU ->
    Conv2D(stem_filters[1], 3, valid) -> BN -> ReLU. Then one block per entry of
    ``block_filters``::

        residual = BN(Conv2D(f, 1, strides=2, padding="same")(x))
        x = [ReLU] -> SeparableConv2D(f, 3, same) -> BN -> ReLU
            -> SeparableConv2D(f, 3, same) -> BN -> MaxPooling2D(3, 2, same)
        x = Add()([x, residual])

    (the first block starts without the ReLU: the stem ends with one), then
    global average pooling and a Dense classifier. Same layers as Keras's ``Xception``
    blocks 1-4, so a Keras model written the same way has the same parameters.

    Args:
        input_shape (tuple, default (32, 32, 3)): (rows, cols, channels).
        classes (int, default 10): the number of classes (with the top).
        stem_filters (tuple, default (16, 32)): the two stem convolutions' filters.
        block_filters (tuple, default (64, 128)): one residual block per entry, f filters.
        include_top (bool, default True): end with the Dense classifier; False stops at the
            last feature map (see ``pooling``).
        pooling (str or None, default None): without the top, "avg", "max" or None.
        classifier_activation (str, callable or None, default "softmax"): of the classifier.
        name (str, default "mini_xception"): the model's name.

    Returns:
        Model
    """
    _check(classes, "classes", "MiniXception", numbers.Integral)
    for argument, value in (("stem_filters", stem_filters), ("block_filters", block_filters)):
        if not isinstance(value, (tuple, list)) or not value or not all(
                isinstance(f, numbers.Integral) and not isinstance(f, bool) and f > 0
                for f in value):
            raise ValueError(f"MiniXception: `{argument}` must be a non-empty tuple of "
                             f"positive integers. Received: {argument}={value!r}")
    if len(stem_filters) != 2:
        raise ValueError(f"MiniXception: `stem_filters` has two entries (the two stem "
                         f"convolutions). Received: stem_filters={stem_filters!r}")
    inputs, _ = _image_input(input_shape, None, 32, 10, "MiniXception")
    axis = _channel_axis()
    x = layers.Conv2D(stem_filters[0], 3, strides=2, use_bias=False, name="block1_conv1")(inputs)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(stem_filters[1], 3, use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    for i, filters in enumerate(block_filters):
        block = f"block{i + 2}"
        residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False,
                                 name=f"{block}_shortcut")(x)
        residual = layers.BatchNormalization(axis=axis, name=f"{block}_shortcut_bn")(residual)
        if i:
            x = layers.Activation("relu", name=f"{block}_sepconv1_act")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                   name=f"{block}_sepconv1")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{block}_sepconv1_bn")(x)
        x = layers.Activation("relu", name=f"{block}_sepconv2_act")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                   name=f"{block}_sepconv2")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{block}_sepconv2_bn")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{block}_pool")(x)
        x = layers.Add(name=f"{block}_add")([x, residual])
    x = _head(x, include_top, pooling, classes, classifier_activation)
    return _finish(inputs, x, name, None, "MiniXception")


# ---------------------------------------------------------------------------- TCN
def TCN(input_shape, filters=16, kernel_size=3, dilations=(1, 2, 4, 8), outputs=1,  # noqa: N802
        dropout=0.0, return_sequences=False, output_activation=None, name="tcn"):
    """A causal temporal convolutional network (Bai et al. 2018) for (steps, features).

    One residual block per dilation ``d``::

        y = SeparableConv1D(filters, kernel_size, padding="causal", dilation_rate=d, relu)(x)
        y = SpatialDropout1D(dropout)(y)                       (when dropout > 0)
        y = SeparableConv1D(filters, kernel_size, padding="causal", dilation_rate=d)(y)
        shortcut = x, or Conv1D(filters, 1)(x) when the channels differ
        x = ReLU()(Add()([y, shortcut]))

    Output step t depends on inputs 0..t only; the receptive field is
    ``1 + 2 (kernel_size - 1) sum(dilations)`` steps. ``return_sequences=False`` keeps
    the last step (``Cropping1D``) and maps it to ``outputs`` numbers with a Dense;
    True gives ``(steps, outputs)`` through a 1x1 Conv1D.

    Args:
        input_shape (tuple): (steps, features); steps may be None.
        filters (int, default 16): channels of every block.
        kernel_size (int, default 3): of the causal convolutions.
        dilations (tuple, default (1, 2, 4, 8)): one block per dilation.
        outputs (int, default 1): numbers predicted per step kept.
        dropout (float, default 0.0): SpatialDropout1D rate in each block (0: none).
        return_sequences (bool, default False): as above.
        output_activation (str, callable or None, default None): of the last layer.
        name (str, default "tcn"): the model's name.

    Returns:
        Model

    Example:
        >>> model = TCN((20, 1))
        >>> model.output_shape, model.count_params()
        ((None, 1), 2324)
    """
    Input, _ = _functional()
    _check(filters, "filters", "TCN", numbers.Integral)
    _check(kernel_size, "kernel_size", "TCN", numbers.Integral)
    _check(outputs, "outputs", "TCN", numbers.Integral)
    if not isinstance(dilations, (tuple, list)) or not dilations or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
            for d in dilations):
        raise ValueError(f"TCN: `dilations` must be a non-empty tuple of positive integers. "
                         f"Received: dilations={dilations!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
            or not 0 <= dropout < 1:
        raise ValueError(f"TCN: `dropout` must be a float in [0, 1). Received: "
                         f"dropout={dropout!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 2:
        raise ValueError(f"TCN: `input_shape` must be (steps, features). Received: "
                         f"input_shape={input_shape}")
    inputs = Input(shape=input_shape)
    x = inputs
    for d in dilations:
        x = causal_residual_block(x, filters, kernel_size, d, dropout, name=f"{name}_block_d{d}")
    if return_sequences:
        x = layers.Conv1D(outputs, 1, activation=output_activation, name=f"{name}_output")(x)
    else:
        steps = input_shape[0]
        if steps is None:
            raise ValueError("TCN: return_sequences=False needs a known number of steps "
                             "in `input_shape`.")
        x = layers.Cropping1D((steps - 1, 0), name=f"{name}_last_step")(x)
        x = layers.Flatten(name=f"{name}_flatten")(x)
        x = layers.Dense(outputs, activation=output_activation, name=f"{name}_output")(x)
    return _finish(inputs, x, name, None, "TCN")


def causal_residual_block(x, filters, kernel_size, dilation_rate, dropout=0.0, name=None):
    """One TCN block (see :func:`TCN`): two causal dilated separable convolutions and a
    skip connection, a 1x1 convolution on the skip when the channel counts differ.

    Args:
        x (SymbolicTensor): the block's input, (batch, steps, channels).
        filters (int): the output channels.
        kernel_size (int): of both convolutions.
        dilation_rate (int): d of both convolutions.
        dropout (float, default 0.0): SpatialDropout1D rate after the first (0: none).
        name (str or None, default None): prefix of the layer names.

    Returns:
        SymbolicTensor: the block's output.
    """
    prefix = name or f"tcn_block_d{dilation_rate}"
    y = layers.SeparableConv1D(filters, kernel_size, padding="causal",
                               dilation_rate=dilation_rate, activation="relu",
                               name=f"{prefix}_conv1")(x)
    if dropout:
        y = layers.SpatialDropout1D(dropout, name=f"{prefix}_dropout")(y)
    y = layers.SeparableConv1D(filters, kernel_size, padding="causal",
                               dilation_rate=dilation_rate, name=f"{prefix}_conv2")(y)
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv1D(filters, 1, name=f"{prefix}_shortcut")(x)
    y = layers.Add(name=f"{prefix}_add")([y, shortcut])
    return layers.ReLU(name=f"{prefix}_relu")(y)
