"""Every mistake a user can make on the command line ends with one sentence on stderr:
a non-zero exit status, and stderr is exactly one line `error: ...`, no traceback.

The bad inputs below run each script in a fresh interpreter, so TensorFlow's
own start-up noise would show; they run concurrently, since most of their time is
TensorFlow's import. Further mistakes run the scripts in this process.
"""
import runpy
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from script_runner import REPO, run_script
from sentiment_lstm.core.config import Config
from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS

SCRIPT_CASES = {  # name -> (script and arguments, exit status, start of the message)
    "negative epochs": (["train.py", "--epochs", "-1"], 2,
                        "error: argument --epochs: must be at least 1, not -1"),
    "unknown cell": (["train.py", "--cell", "foo"], 2,
                     "error: argument --cell: must be one of lstm, gru, rnn, keras-lstm, transformer, not 'foo'"),
    "missing data": (["train.py", "--data", "no/such/archive.tar.gz"], 1,
                     "error: The data path no/such/archive.tar.gz does not exist."),
    "missing model dir (evaluate)": (["evaluate.py", "--model-dir", "no/such/model"], 1,
                                     "error: There is no model directory no/such/model"),
    "missing model dir (predict)": (["predict.py", "--model-dir", "no/such/model", "good"], 1,
                                    "error: There is no model directory no/such/model"),
    "missing review file": (["predict.py", "--file", "no/such/reviews.txt"], 1,
                            "error: Cannot read no/such/reviews.txt: No such file or directory."),
    "corrupt config": (["predict.py", "--model-dir", "{corrupt_config}", "good"], 1,
                       "error: {corrupt_config}/config.json is corrupt"),
    "corrupt model": (["predict.py", "--model-dir", "{corrupt_model}", "good"], 1,
                      "error: {corrupt_model}/model.keras is corrupt"),
}

IN_PROCESS_CASES = {
    "fraction out of range": (["train.py", "--val-fraction", "0.7"], 2,
                              "error: argument --val-fraction: must be at most 0.5, not 0.7"),
    "validation too small to choose by": (["train.py", "--val-fraction", "0.005"], 2,
                                          "error: --val-fraction must be 0 (a refit without validation) "
                                          "or at least 0.01, not 0.005."),
    "not a number": (["train.py", "--learning-rate", "fast"], 2,
                     "error: argument --learning-rate: expected float, got 'fast'"),
    "unknown flag": (["train.py", "--bogus"], 2, "error: unrecognized arguments: --bogus"),
    "flags that clash": (["train.py", "--jit-compile"], 2, "error: --jit-compile needs "
                         "--no-deterministic, because TensorFlow turns XLA off while op "
                         "determinism is on."),
    "bad limit": (["evaluate.py", "--limit", "-5"], 2, "error: argument --limit: must be at least 2"),
    "nothing to predict": (["predict.py"], 2, "error: give texts to classify"),
    "all scores and the top k": (["predict.py", "good", "--all-scores", "--top-k", "2"], 2,
                                 "error: --all-scores writes every class's score; it cannot be combined with --top-k"),
    "model dir over other files": (["train.py", "--model-dir", "tests"], 1,
                                   f"error: {REPO / 'tests'} already holds files that are not a "
                                   "trained model; choose a new or empty model directory."),
}


def assert_one_sentence(status, stderr, expected_status, message):
    assert status == expected_status, stderr
    assert stderr.startswith(message), stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    """Model dirs with a corrupt config.json, and with a valid one but a corrupt model.keras."""
    root = tmp_path_factory.mktemp("bad_models")
    paths = {"corrupt_config": root / "corrupt_config", "corrupt_model": root / "corrupt_model"}
    for path in paths.values():
        path.mkdir()
    (paths["corrupt_config"] / "config.json").write_text('{"hyperparameters": {"units": ')
    (paths["corrupt_model"] / "config.json").write_text(Config().to_json(labels=list(LABELS)))
    (paths["corrupt_model"] / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    return paths


@pytest.fixture(scope="module")
def script_results(bad_models):
    """name -> CompletedProcess of every SCRIPT_CASES case, run 4 at a time."""

    def run(name):
        return name, run_script(*(arg.format(**bad_models) for arg in SCRIPT_CASES[name][0]))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, SCRIPT_CASES))


@pytest.mark.parametrize("name", SCRIPT_CASES)
def test_bad_input_is_one_sentence(name, script_results, bad_models):
    _, status, message = SCRIPT_CASES[name]
    completed = script_results[name]
    assert_one_sentence(completed.returncode, completed.stderr.decode(), status,
                        message.format(**bad_models))
    assert completed.stdout == b""


@pytest.mark.parametrize("name", IN_PROCESS_CASES)
def test_more_mistakes_are_one_sentence(name, capsys, monkeypatch):
    (script, *args), status, message = IN_PROCESS_CASES[name]
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / script), run_name="__main__")
    captured = capsys.readouterr()
    assert_one_sentence(exit_info.value.code, captured.err, status, message)
    assert captured.out == ""
