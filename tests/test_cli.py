"""The `sentiment-lstm` command: its subcommands are the scripts' entry points, and the
installed console script is the one `pyproject.toml` declares."""
import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

import sentiment_lstm
from script_runner import REPO, run_script
from sentiment_lstm import cli


def test_pyproject_declares_the_command_and_its_version():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"sentiment-lstm": "sentiment_lstm.cli:main"}
    assert project["license"] == "Apache-2.0" and (REPO / "LICENSE").read_text().startswith(" " * 33 + "Apache License")
    pins = {line.split("==")[0] for line in (REPO / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    ranges = {dep.split(">")[0].split("<")[0].split("=")[0] for dep in project["dependencies"]}
    assert ranges == pins  # the runtime packages, pinned there and ranged here


def test_pyproject_installs_every_subpackage_and_data_file():
    """A non-editable install carries what an editable one finds: every folder of the
    package with an `__init__.py`, the recipes, and the demo page beside the server."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "sentiment_lstm").rglob("__init__.py")}
    assert set(setuptools["packages"]) == folders | {"sentiment_lstm.recipes"}
    for package, patterns in setuptools["package-data"].items():
        folder = REPO / setuptools["package-dir"].get(package, package.replace(".", "/"))
        assert all(list(folder.glob(pattern)) for pattern in patterns), (package, patterns)


def test_every_subcommand_is_a_script_and_a_module_entry_point():
    parser = cli.make_parser()
    for name in ("train", "evaluate", "predict"):
        assert name in cli.COMMANDS
        assert (REPO / f"{name}.py").read_text().count(f'cli.main(command="{name}")') == 1
        args = parser.parse_args([name] + (["x"] if name == "predict" else []))
        assert args.command == name


def test_version_and_help_through_python_dash_m():
    version = run_script("-m", "sentiment_lstm", "--version")
    assert version.returncode == 0 and version.stdout.decode().strip() == f"sentiment-lstm {sentiment_lstm.__version__}"
    helped = run_script("-m", "sentiment_lstm", "--help")
    assert helped.returncode == 0
    for name in cli.COMMANDS:
        assert name in helped.stdout.decode()
    same = run_script("train.py", "--units", "0")
    assert (same.returncode, same.stderr.decode()) == (2, "error: argument --units: must be at least 1, not 0\n")


def installed_command():
    found = Path(sys.executable).with_name("sentiment-lstm")
    return found if found.is_file() else shutil.which("sentiment-lstm")


@pytest.mark.skipif(not installed_command(), reason="the package is not installed (pip install -e .)")
def test_the_installed_console_script_runs_the_same_main(tmp_path):
    import subprocess

    command = str(installed_command())
    version = subprocess.run([command, "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert version.stdout.strip() == f"sentiment-lstm {sentiment_lstm.__version__}"
    bad = subprocess.run([command, "train", "--recipe", "nope"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60, env={**os.environ})
    assert bad.returncode == 2 and bad.stderr.startswith("error: There is no recipe named 'nope'")
