"""The demo trainings: accuracy on the digits, the CLI end to end, the forecaster."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import demo
from minigrad.__main__ import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet(*args, **kwargs):
    pass


def test_digits_reach_95_percent_test_accuracy():
    mg.clear_session()
    result = demo.train_digits(epochs=6, seed=0, out_dir=None, verbose=0, print_fn=quiet)
    assert result["test_accuracy"] >= 0.95
    history = result["history"].history
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert history["learning_rate"] == [0.05] * 5 + [0.01]
    assert history["loss"][-1] < history["loss"][0]


def test_timeseries_beats_the_naive_baseline():
    result = demo.train_timeseries(epochs=4, seed=0, out_dir=None, verbose=0, print_fn=quiet)
    assert np.isfinite(result["test_mse"])
    assert result["test_mse"] < result["naive_mse"]


def test_cli_demo_writes_weights_and_plot(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "minigrad", "demo", "--epochs", "1",
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Total params" in proc.stdout and "test accuracy: 0." in proc.stdout
    assert "Epoch 1/1" in proc.stderr                     # the progress bar
    assert (out / "digits.weights.npz").is_file()
    png = out / "digits_training.png"                     # matplotlib is a dependency
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = demo.digits_model()
    model.load_weights(out / "digits.weights.npz")        # the saved file fits the model


def test_cli_arguments():
    parser = build_parser()
    args = parser.parse_args(["timeseries", "--epochs", "3", "--seed", "7", "--out", "x"])
    assert (args.command, args.epochs, args.seed, args.out) == ("timeseries", 3, 7, "x")
    assert parser.parse_args(["demo"]).out == "demo_output"
    for bad in (["demo", "--epochs", "0"], ["demo", "--seed", "-1"], ["train"], []):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_small_mobilenet_v2_learns_the_digits():
    mg.clear_session()
    result = demo.train_mobilenet(epochs=3, seed=0, out_dir=None, verbose=0, print_fn=quiet)
    assert result["test_accuracy"] >= 0.9
    names = [layer.name for layer in result["model"].layers]
    assert "block_2_add" in names and "block_1_pad" in names     # a skip, a strided block
    history = result["history"].history
    assert history["loss"][-1] < history["loss"][0]


def test_cli_mobilenet_quick_run(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "minigrad", "mobilenet", "--epochs", "1",
                           "--limit", "200", "--no-plot", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Total params" in proc.stdout and "block_1_pad" in proc.stdout
    assert "test accuracy: " in proc.stdout and "Epoch 1/1" in proc.stderr
    model = demo.mobilenet_model()
    model.load_weights(out / "mobilenet.weights.npz")
    assert build_parser().parse_args(["mobilenet", "--limit", "5"]).limit == 5
