"""The command line's own options: ``--version`` and the pointers in ``--help``."""
import pytest

import minigrad
from minigrad.__main__ import build_parser


def test_version_names_the_version_and_the_kernels(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"minigrad {minigrad.__version__}" in out
    assert f"kernels: {minigrad._kernels.BACKEND}" in out


def test_help_points_to_the_tutorials_and_the_reference(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "01_tensors_and_the_tape.ipynb" in out
    assert "help(minigrad.layers.SeparableConv2D)" in out
    assert "--version" in out
