"""The example trainings behind ``python -m minigrad demo`` / ``mobilenet`` / ``timeseries``.

``train_digits``: a small separable-convolution network classifies the bundled 8x8
handwritten digits (1438 training, 359 test images)::

    SeparableConv2D(16, 3, padding="same", depth_multiplier=8, relu)
    -> SeparableConv2D(32, 3, padding="same", relu) -> MaxPooling2D(2) -> Flatten
    -> Dense(10)                                                              (logits)

(The images have one channel, so ``depth_multiplier=8`` gives the first depthwise step
eight different 3x3 filters to mix; with 1 it would have a single one. The second layer
is where separability pays: 16 channels in, 32 out, 7x fewer multiply-adds than a full
3x3 convolution -- ``model.summary()`` shows the count.)

trained with SGD + momentum on sparse categorical cross-entropy (from logits), the
learning rate dropping from 0.05 to 0.01 after five epochs (a LearningRateScheduler). It
prints the summary, trains with a progress bar, prints the test accuracy, and writes
the weights (``digits.weights.npz``) and a training-curve plot (``digits_training.png``).

``train_mobilenet``: a small MobileNetV2 (functional API) on the same digits: a 3x3
convolution, four inverted residual blocks from :mod:`minigrad.applications` (expand
x6 -> depthwise 3x3 -> linear 1x1 projection, ``Add`` skips where shapes agree), a 1x1
convolution to 128 channels, global average pooling, Dense(10). Its BatchNormalization
layers use momentum 0.9 instead of Keras's 0.999: a few hundred steps are too few for
0.999 moving averages to forget their initial values, and inference would use those.

``train_timeseries``: a causal temporal convolutional network (``applications.TCN``:
residual blocks of dilated, causal SeparableConv1D) forecasts next week's Mauna Loa
CO2 from the past year. The network predicts the *change* from the last
observed week (the inputs are the window minus its last value), which is what a
forecaster has to learn beyond the naive "same as last week" baseline; the test MSE
of both is printed (in standardised units).

Both functions return a dict of results, so tests and notebooks can call them.
"""
import os
import time

import numpy as np

from . import applications, datasets, layers, losses, optimizers
from .callbacks import History, LearningRateScheduler
from .layers import Input
from .models import Model, Sequential
from .random import set_random_seed


def digits_model():
    """The demo's classifier for ``(8, 8, 1)`` images -> 10 logits."""
    return Sequential([
        layers.SeparableConv2D(16, 3, padding="same", depth_multiplier=8, activation="relu",
                               input_shape=(8, 8, 1)),
        layers.SeparableConv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10),
    ], name="digits_separable")


def digits_optimizer():
    """The demo's optimizer: SGD, learning rate 0.05, momentum 0.9.

    Returns:
        SGD
    """
    return optimizers.SGD(learning_rate=0.05, momentum=0.9)


def digits_schedule(epoch, learning_rate):
    """0.05 for the first five epochs, then 0.01 to settle into the minimum found.

    Args:
        epoch (int): the epoch, from 0.
        learning_rate (float): the current rate (unused).

    Returns:
        float
    """
    return 0.05 if epoch < 5 else 0.01


def train_digits(epochs=8, seed=0, out_dir="demo_output", batch_size=32, verbose=1,
                 print_fn=print, plot=True):
    """Train the digits classifier; returns ``{"test_accuracy", "history", "weights", ...}``.

    Args:
        epochs (int, default 8): epochs to train.
        seed (int, default 0): seeds the split, the weights and the shuffles.
        out_dir (str or None, default "demo_output"): where the weights and the plot go
            (created); None writes nothing.
        batch_size (int, default 32): samples per step.
        verbose (int, default 1): as for ``fit``.
        print_fn (callable, default print): where the summary lines go.
        plot (bool, default True): write the training-curve PNG.
    """
    set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = datasets.load_digits(seed=seed)
    return _train_classifier(
        digits_model(), digits_optimizer(), digits_schedule, (x_train, y_train, x_test, y_test),
        epochs, batch_size, verbose, print_fn, out_dir, plot, stem="digits",
        title="SeparableConv2D on 8x8 digits")


def _train_classifier(model, optimizer, schedule, data, epochs, batch_size, verbose, print_fn,
                      out_dir, plot, stem, title):
    """What the digits demos share: compile, fit (10% held out for validation, the learning
    rate following ``schedule``), test, report; then save ``<stem>.weights.npz`` and plot
    ``<stem>_training.png`` in ``out_dir`` (unless it is None)."""
    x_train, y_train, x_test, y_test = data
    model.compile(optimizer=optimizer,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    if verbose:
        model.summary(print_fn=print_fn)
        print_fn(f"Training on {len(x_train)} images, validating on 10% of them, "
                 f"testing on {len(x_test)}.")
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                        validation_split=0.1, verbose=verbose,
                        callbacks=[LearningRateScheduler(schedule)])
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    if verbose:
        print_fn(f"training time: {train_seconds:.1f} s")
        print_fn(f"test loss: {test_loss:.4f}")
    print_fn(f"test accuracy: {test_accuracy:.3f}")
    result = {"model": model, "history": history, "test_loss": test_loss,
              "test_accuracy": test_accuracy, "train_seconds": train_seconds,
              "weights": None, "plot": None}
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        result["weights"] = model.save_weights(os.path.join(out_dir, f"{stem}.weights.npz"))
        print_fn(f"weights saved to {result['weights']}")
        if plot:
            result["plot"] = plot_history(history, os.path.join(out_dir, f"{stem}_training.png"),
                                          title=title, print_fn=print_fn)
    return result


def timeseries_model(window):
    """A causal TCN: ``(window, 1)`` -> one number (dilations 1, 2, 4, 8: it sees the
    last 61 weeks).

    Args:
        window (int): past weeks per sample.

    Returns:
        Model
    """
    return applications.TCN((window, 1), filters=16, kernel_size=3, dilations=(1, 2, 4, 8),
                            outputs=1, name="co2_tcn")


def mobilenet_model(bn_momentum=0.9):
    """A small MobileNetV2 for ``(8, 8, 1)`` digits -> 10 logits (see the module notes).

    Args:
        bn_momentum (float, default 0.9): of the BatchNormalization layers (0.9 lets the
            moving statistics catch up in a few hundred steps).

    Returns:
        Model
    """
    inputs = Input((8, 8, 1), name="digits")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(momentum=bn_momentum, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (expansion, filters, stride) in enumerate(
            [(1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2)]):          # 8x8 -> 4x4 -> 2x2
        x = applications.inverted_residual_block(x, expansion, stride, 1.0, filters,
                                                 block_id, bn_momentum=bn_momentum)
    x = layers.Conv2D(128, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return Model(inputs, outputs, name="small_mobilenetv2")


def mobilenet_schedule(epoch, learning_rate):
    """0.05 for four epochs, then 0.01.

    Args:
        epoch (int): the epoch, from 0.
        learning_rate (float): the current rate (unused).

    Returns:
        float
    """
    return 0.05 if epoch < 4 else 0.01


def train_mobilenet(epochs=6, seed=0, out_dir="demo_output", batch_size=32, verbose=1,
                    print_fn=print, plot=True, limit=None):
    """Train the small MobileNetV2 on the digits; returns ``{"test_accuracy", ...}``.

    Args:
        epochs (int, default 6): epochs to train.
        seed (int, default 0): seeds the split, the weights and the shuffles.
        out_dir (str or None, default "demo_output"): where the weights and the plot go
            (created); None writes nothing.
        batch_size (int, default 32): samples per step.
        verbose (int, default 1): as for ``fit``.
        print_fn (callable, default print): where the summary lines go.
        plot (bool, default True): write the training-curve PNG.
        limit (int or None, default None): use only the first ``limit`` training and test
            images (a quick run).
    """
    set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = datasets.load_digits(seed=seed)
    if limit is not None:
        x_train, y_train, x_test, y_test = (a[:limit] for a in (x_train, y_train, x_test,
                                                                 y_test))
    return _train_classifier(
        mobilenet_model(), digits_optimizer(), mobilenet_schedule,
        (x_train, y_train, x_test, y_test), epochs, batch_size, verbose, print_fn, out_dir, plot,
        stem="mobilenet", title="Small MobileNetV2 on 8x8 digits")


def train_timeseries(epochs=20, seed=0, out_dir="demo_output", window=52, batch_size=32,
                     verbose=1, print_fn=print, plot=True):
    """Forecast next week's CO2; returns ``{"test_mse", "naive_mse", "history", ...}``.

    Args:
        epochs (int, default 20): epochs to train.
        seed (int, default 0): seeds the weights and the shuffles.
        out_dir (str or None, default "demo_output"): where the weights and the plot go
            (created); None writes nothing.
        window (int, default 52): past weeks per sample.
        batch_size (int, default 32): samples per step.
        verbose (int, default 1): as for ``fit``.
        print_fn (callable, default print): where the summary lines go.
        plot (bool, default True): write the training-curve PNG.
    """
    set_random_seed(seed)
    (x_train, y_train), (x_test, y_test), (_, std) = datasets.load_co2_forecasting(
        window=window, return_stats=True)
    # Predict the change from the last observed value: inputs relative to it, target
    # the step. The last input value is then 0 for every sample, the rest the recent
    # history relative to "now".
    last_train, last_test = x_train[:, -1:, 0], x_test[:, -1:, 0]
    model = timeseries_model(window)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    if verbose:
        model.summary(print_fn=print_fn)
    scale = 10.0            # weekly steps are small in standardised units; rescale them
    start = time.perf_counter()
    history = model.fit((x_train - last_train[:, :, None]) * scale,
                        (y_train - last_train) * scale, batch_size=batch_size, epochs=epochs,
                        validation_split=0.1, verbose=verbose)
    train_seconds = time.perf_counter() - start
    step = model.predict((x_test - last_test[:, :, None]) * scale, batch_size=256,
                         verbose=0) / scale
    prediction = last_test + step
    test_mse = float(np.mean((prediction - y_test) ** 2))
    naive_mse = float(np.mean((last_test - y_test) ** 2))
    print_fn(f"test MSE: {test_mse:.5f}   naive last-value MSE: {naive_mse:.5f}   "
             f"(standardised units; in ppm^2: {test_mse * std ** 2:.3f} vs "
             f"{naive_mse * std ** 2:.3f}, ratio {test_mse / naive_mse:.2f})")
    result = {"model": model, "history": history, "test_mse": test_mse,
              "naive_mse": naive_mse, "train_seconds": train_seconds, "weights": None,
              "plot": None}
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        result["weights"] = model.save_weights(os.path.join(out_dir, "co2.weights.npz"))
        print_fn(f"weights saved to {result['weights']}")
        if plot:
            result["plot"] = plot_history(history, os.path.join(out_dir, "co2_training.png"),
                                          title="Causal TCN on Mauna Loa CO2",
                                          print_fn=print_fn)
    return result


def plot_history(history, path, title="", print_fn=print):
    """Loss (and accuracy) per epoch to a PNG; returns the path.

    Args:
        history (History or dict): what ``fit`` returned, or its ``.history`` dict.
        path (str): the PNG file.
        title (str, default ""): the figure's title.
        print_fn (callable, default print): where the "training curve saved to ..." line goes.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    logs = history.history if isinstance(history, History) else history
    metrics = [k for k in logs if not k.startswith("val_") and k != "loss"]
    panels = ["loss"] + metrics[:1]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, key in zip(axes[0], panels):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", label=f"train {key}")
        if "val_" + key in logs:
            ax.plot(epochs, logs["val_" + key], "s--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print_fn(f"training curve saved to {path}")
    return path
