"""Command line: ``python -m minigrad demo`` / ``mobilenet`` / ``timeseries``.

Also installed as the console script ``minigrad`` (see pyproject.toml).

    python -m minigrad demo                  # SeparableConv2D on the 8x8 digits
    python -m minigrad demo --epochs 3 --out /tmp/run
    python -m minigrad mobilenet             # a small MobileNetV2 on the same digits
    python -m minigrad timeseries --seed 1   # causal TCN on Mauna Loa CO2
    python -m minigrad --version             # version and which kernels are active
"""
import argparse
import sys
import time


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


EPILOG = """\
learn more:
  tutorials   numbered notebooks in tutorials/ of the source repository, starting with
              01_tensors_and_the_tape.ipynb (`pip install -e ".[tutorials]"`, then
              `jupyter lab tutorials/`)
  reference   help() of any public name; the layers show their full reference, e.g.
              python -c "import minigrad; help(minigrad.layers.SeparableConv2D)"
  overview    README.md: set-up, a first look, the map of the package
"""


def _version_text():
    from . import __version__
    from ._kernels import BACKEND
    return f"minigrad {__version__} (distribution minigrad-edu; kernels: {BACKEND})"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad examples: train small models from scratch on bundled data.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def common(sub, epochs):
        sub.add_argument("--epochs", type=_positive_int, default=epochs,
                         help=f"training epochs (default {epochs})")
        sub.add_argument("--seed", type=_non_negative_int, default=0,
                         help="random seed for weights, shuffling and the data split "
                              "(default 0)")
        sub.add_argument("--batch-size", type=_positive_int, default=32,
                         help="samples per training step (default 32)")
        sub.add_argument("--out", default="demo_output",
                         help="directory for the weights and the training-curve PNG "
                              "(default ./demo_output)")
        sub.add_argument("--no-plot", action="store_true", help="do not write the PNG")
        sub.add_argument("--quiet", action="store_true",
                         help="no summary and no progress bar, only the results")

    demo = commands.add_parser(
        "demo", help="SeparableConv2D classifier on the bundled 8x8 digits",
        description="Train a separable-convolution network on the bundled 8x8 handwritten "
                    "digits, print the model summary and the test accuracy, save the "
                    "weights and a training-curve plot.")
    common(demo, 8)
    mobilenet = commands.add_parser(
        "mobilenet", help="small MobileNetV2 (inverted residuals) on the 8x8 digits",
        description="Train a small MobileNetV2 built with the functional API on the "
                    "bundled 8x8 digits; print its summary and the test accuracy, save the "
                    "weights and a training-curve plot.")
    common(mobilenet, 6)
    mobilenet.add_argument("--limit", type=_positive_int, default=None,
                           help="train and test on only the first N images (a quick run)")
    series = commands.add_parser(
        "timeseries", help="causal TCN (dilated SeparableConv1D residual blocks) for CO2",
        description="Train a causal temporal convolutional network (residual blocks of "
                    "dilated, causal SeparableConv1D) to forecast next week's CO2 at Mauna "
                    "Loa; print its test MSE and the naive last-value baseline's.")
    common(series, 20)
    series.add_argument("--window", type=_positive_int, default=52,
                        help="weeks of history the model sees (default 52)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from . import demo
    start = time.perf_counter()
    kwargs = dict(epochs=args.epochs, seed=args.seed, out_dir=args.out,
                  batch_size=args.batch_size, verbose=0 if args.quiet else 1,
                  plot=not args.no_plot)
    if args.command == "demo":
        demo.train_digits(**kwargs)
    elif args.command == "mobilenet":
        demo.train_mobilenet(limit=args.limit, **kwargs)
    else:
        demo.train_timeseries(window=args.window, **kwargs)
    print(f"total wall time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
