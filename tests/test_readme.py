"""The README's promises: its example prints what it shows, and CI runs its test command."""
import contextlib
import io
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _fenced_blocks():
    """(language, text) of every fenced code block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", README, re.S | re.M)


def _blocks(language):
    return [text for lang, text in _fenced_blocks() if lang == language]


def test_first_example_prints_what_the_readme_shows():
    code = next(b for b in _blocks("python") if "GradientTape" in b)
    expected = _blocks("")[0]
    np.random.seed(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == expected.strip()


def test_ci_runs_the_readme_test_command():
    commands = [b.strip() for b in _blocks("bash")]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_map_names_every_package_file():
    tracked = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "minigrad").rglob("*")
                     if p.suffix in (".py", ".pyx") and "__pycache__" not in p.parts)
    missing = [p for p in tracked if f"`{p}`" not in README]
    assert not missing, f"README map lacks: {missing}"


def test_functional_example_prints_the_summary_the_readme_shows():
    blocks = _fenced_blocks()
    position = next(i for i, (lang, text) in enumerate(blocks)
                    if lang == "python" and "mg.Model(inputs" in text)
    code, expected = blocks[position][1], blocks[position + 1][1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == expected.strip()
