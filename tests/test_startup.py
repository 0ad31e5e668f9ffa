"""TensorFlow's load-time notices respect TF_CPP_MIN_LOG_LEVEL once the package loads it
(`startup.import_tensorflow`), with oneDNN left on, as TensorFlow ships it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def stderr_of_import(level):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    result = subprocess.run([sys.executable, "-c", "from sentiment_lstm.core import startup; tf = startup.import_tensorflow(); print(tf.__version__)"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # stdout untouched
    return result.stderr


def test_quiet_when_the_log_level_asks_for_it():
    assert stderr_of_import("3") == ""


def test_notices_pass_when_the_log_level_allows_them():
    stderr = stderr_of_import(None)
    if "oneDNN" not in stderr:
        pytest.skip("this TensorFlow build prints no oneDNN notice to check against")
    assert "oneDNN custom operations are on" in stderr
