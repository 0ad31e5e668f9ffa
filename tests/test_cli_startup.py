"""The commands parse their flags and check their paths before TensorFlow loads, so
`--help`, `--version` and every flag or path mistake answer at once
(benchmarks/cli_latency.py times them; here, what is imported is checked).

Each case runs in a fresh interpreter, which then lists the heavy modules it holds.
"""
import json

import pytest

from script_runner import REPO, run_script

HEAVY = ("tensorflow", "keras", "sklearn", "matplotlib")

PARSE = """
import json, sys
from sentiment_lstm import cli
parser = cli.make_parser()
for argv in {argvs!r}:
    parser.parse_args(argv)
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""

FAIL = """
import json, sys
from sentiment_lstm import cli
try:
    cli.main({argv!r}, command={command!r})
except SystemExit as exit:
    print(json.dumps([exit.code, sorted(m for m in {heavy!r} if m in sys.modules)]))
"""

PATH_ERRORS = {  # (command, arguments) -> the one sentence on stderr
    ("evaluate", ("--model-dir", "no/such/model")):
        "error: There is no model directory no/such/model; train one with "
        "`sentiment-lstm train --model-dir no/such/model`.",
    ("evaluate", ("--model-dir", "README.md")):
        "error: README.md is a file, not a model directory; pass the directory `sentiment-lstm train` wrote.",
    ("evaluate", ("--model-dir", "tests")):
        "error: tests is not a model directory: it has no config.json.",
    ("evaluate", ("--model-dir", "{model}", "--data", "no/such/test.csv")):
        "error: The data path no/such/test.csv does not exist.",
    ("evaluate", ("--model-dir", "{model}", "--data", "no/such/aclImdb")):
        "error: The data path no/such/aclImdb does not exist.",
    ("predict", ("--model-dir", "README.md", "good")):
        "error: README.md is a file, not a model directory; pass the directory `sentiment-lstm train` wrote.",
    ("predict", ("--file", "no/such/reviews.txt")):
        "error: Cannot read no/such/reviews.txt: No such file or directory.",
    ("train", ("--data", "no/such/archive.tar.gz")):
        "error: The data path no/such/archive.tar.gz does not exist.",
    ("train", ("--model-dir", "README.md")):
        "error: {repo}/README.md exists and is not a directory; choose another model directory.",
}


@pytest.fixture(scope="module")
def fake_model(tmp_path_factory):
    """A directory that passes the path checks (a config.json and a model.keras, as layout.read
    reads them without TensorFlow); nothing loads the model."""
    from sentiment_lstm.core.config import Config

    directory = tmp_path_factory.mktemp("model")
    (directory / "config.json").write_text(Config().to_json(labels=["negative", "positive"]))
    (directory / "model.keras").write_bytes(b"")
    return directory


def test_parsing_every_command_imports_no_tensorflow():
    argvs = [["train", "--epochs", "2", "--cell", "gru"], ["evaluate", "--limit", "10"],
             ["predict", "--model-dir", "m", "good"], ["train"]]
    result = run_script("-c", PARSE.format(argvs=argvs, heavy=HEAVY))
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("case", PATH_ERRORS, ids=lambda case: " ".join(case[:1] + case[1][:2]))
def test_a_path_error_is_reported_before_tensorflow_loads(case, fake_model):
    command, argv = case
    argv = [arg.format(model=fake_model) for arg in argv]
    result = run_script("-c", FAIL.format(argv=argv, command=command, heavy=HEAVY))
    status, imported = json.loads(result.stdout)
    assert (status, imported) == (1, [])
    assert result.stderr.decode() == PATH_ERRORS[case].format(repo=REPO) + "\n"
