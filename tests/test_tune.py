"""`sentiment-lstm tune`: the list flags and their one-sentence errors, the stratified
folds, the --out directory's checks, best.toml as a recipe `train` takes, and a real
search in a subprocess that is killed after its first trial, refused a second run on
its --out meanwhile, and resumed without running that trial again."""
import argparse
import csv
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from script_runner import REPO
from sentiment_lstm import cli
from sentiment_lstm.core import lock, recipe
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import Dataset
from sentiment_lstm.tuning import folds, project, report, space


def parse(*argv):
    """The namespace of `sentiment-lstm tune ARGV` (argparse exits on a bad flag)."""
    return cli.make_parser().parse_args(["tune", *argv])


# The list flags.

def test_list_flags_parse_to_tuples_of_the_fields_type():
    assert space.list_type("units")("16,32, 64") == (16, 32, 64)
    assert space.list_type("dropout")("0.2,0.5") == (0.2, 0.5)
    args = parse("--units", "16,32", "--layers", "1,2", "--dropout", "0.3", "--out", "o")
    assert (args.units, args.layers, args.dropout) == ((16, 32), (1, 2), (0.3,))


@pytest.mark.parametrize("flag, text, error", [
    ("units", "16,x", "takes comma-separated whole numbers (e.g. 16,32,64), not '16,x'"),
    ("units", "16,16", "lists 16 twice"),
    ("units", "0,4", "takes values that are at least 1, not 0"),
    ("dropout", "0.2,1.5", "takes values that are at most 0.9, not 1.5"),
    ("dropout", "0.2,nan", "takes finite numbers, not 'nan'"),
    ("layers", ",", "needs at least one value, e.g. 16,32,64"),
])
def test_a_bad_list_is_one_sentence(flag, text, error):
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        space.list_type(flag)(text)
    assert str(raised.value) == error


def test_the_command_line_reports_a_bad_list_as_argparse_does(capsys):
    with pytest.raises(SystemExit) as exited:
        parse("--units", "16,x", "--out", "o")
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: argument --units: takes comma-separated whole numbers "
                                       "(e.g. 16,32,64), not '16,x'\n")


def test_one_value_is_fixed_and_several_are_searched_over_the_recipes_settings():
    config, searched = space.from_args(parse("--recipe", "trec", "--units", "16,32", "--dropout", "0.1",
                                             "--epochs", "3", "--out", "o"))
    assert searched == {"units": (16, 32)}
    assert (config.dropout, config.epochs, config.embed_dim, config.recipe) == (0.1, 3, 128, "trec")
    assert space.grid_size({"units": (16, 32), "layers": (1, 2, 3)}) == 6 and space.grid_size({}) == 1


def test_flags_that_mean_nothing_to_tune_are_refused_before_anything_runs(tmp_path):
    from sentiment_lstm.commands import tune

    for argv, sentence in [
        (["--val-fraction", "0.2"], "--val-fraction does not apply to tune"),
        (["--strategy", "bayesian"], "--strategy bayesian needs values to choose from"),
        (["--units", "4,8", "--strategy", "hyperband", "--trials", "3"], "--trials does not apply to --strategy"),
    ]:
        with pytest.raises(UserError, match=sentence):
            tune.run(parse(*argv, "--out", str(tmp_path / "o")))
    assert not (tmp_path / "o").exists()


BEFORE_TENSORFLOW = """
import json, sys
from sentiment_lstm import cli
try:
    cli.main({argv!r}, command="tune")
except SystemExit as exit:
    print(json.dumps([exit.code, sorted(m for m in ("tensorflow", "keras", "sklearn", "matplotlib") if m in sys.modules)]))
"""


@pytest.mark.parametrize("argv, sentence", [
    (["--data", "no/such.csv", "--units", "4,8", "--out", "{tmp}/o"], "The data path no/such.csv does not exist."),
    (["--units", "4,8", "--out", "{repo}/tests"], "--out {repo}/tests holds other files; give a new or empty "
                                                  "directory, or the --out of an earlier tune to resume it."),
])
def test_a_path_mistake_is_one_sentence_before_tensorflow_loads(argv, sentence, tmp_path):
    argv = [arg.format(tmp=tmp_path, repo=REPO) for arg in argv]
    result = subprocess.run([sys.executable, "-c", BEFORE_TENSORFLOW.format(argv=argv)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert json.loads(result.stdout) == [1, []]
    assert result.stderr == f"error: {sentence.format(repo=REPO)}\n"


# The folds.

def test_stratified_folds_validate_each_text_once_and_keep_the_class_proportions():
    labels = ["a"] * 40 + ["b"] * 20
    data = Dataset.from_names([f"text {i}" for i in range(60)], labels)
    parts = folds.stratified_folds(data, 4, seed=3)
    assert len(parts) == 4
    validated = np.concatenate([validation for _, validation in parts])
    assert sorted(validated.tolist()) == list(range(60))  # every text exactly once
    for train, validation in parts:
        assert set(train.tolist()) == set(range(60)) - set(validation.tolist())
        assert np.bincount(data.labels[validation]).tolist() == [10, 5]  # 2:1, as the whole
    again = folds.stratified_folds(data, 4, seed=3)
    assert all((a[1] == b[1]).all() for a, b in zip(parts, again))  # seeded


def test_folds_need_a_text_of_each_class_per_fold():
    data = Dataset.from_names(["a", "b", "c", "d", "e"], ["x", "x", "x", "y", "y"], source="t.csv")
    with pytest.raises(UserError) as raised:
        folds.stratified_folds(data, 3)
    assert str(raised.value) == ("The class 'y' of t.csv has 2 text(s), too few for 3 stratified folds; "
                                 "give --folds 2 or fewer, or more texts of it.")


# The --out directory.

def test_out_is_new_empty_or_a_search_with_the_same_settings(tmp_path):
    settings = {"config": {"units": 64, "epochs": 2}, "space": {"units": [16, 32]}, "folds": 3}
    assert project.check(tmp_path / "new", settings) == (tmp_path / "new", False)
    (tmp_path / "empty").mkdir()
    assert project.check(tmp_path / "empty", settings)[1] is False
    project.start(tmp_path / "search", settings)
    assert project.check(tmp_path / "search", settings) == (tmp_path / "search", True)
    other = {**settings, "config": {"units": 64, "epochs": 3}, "space": {"units": [16, 64]}}
    with pytest.raises(UserError, match=r"holds a search with other settings \(--epochs, --units\); give the "
                                        r"same flags to resume it, or another --out\.$"):
        project.check(tmp_path / "search", other)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(UserError, match="holds other files; give a new or empty directory"):
        project.check(tmp_path / "model", settings)


# The outputs.

def fold(accuracy, parameters=1000):
    return {"val_accuracy": accuracy, "seconds": 2.0, "parameters": parameters, "epoch": 1}


def test_the_best_trial_has_the_highest_mean_then_the_fewest_parameters():
    records = [report.summarise(1, {"units": 16}, 2, [fold(0.8, 100), fold(0.9, 100)]),
               report.summarise(2, {"units": 32}, 2, [fold(0.9, 200), fold(0.8, 200)]),
               report.summarise(3, {"units": 64}, 2, [fold(0.7, 300), fold(0.7, 300)])]
    assert report.best(records)["trial"] == 1
    assert report.best(records[1:])["trial"] == 2


def test_best_toml_is_a_recipe_of_the_best_values_that_train_takes(tmp_path):
    config, searched = space.from_args(parse("--recipe", "default", "--units", "16,32", "--limit", "400",
                                             "--epochs", "3", "--out", "o"))
    config = dataclasses.replace(config, model_dir="models/x")  # a run option: never in a recipe
    records = [report.summarise(1, {**_fixed(config), "units": 16}, 3, [fold(0.80), fold(0.84)]),
               report.summarise(2, {**_fixed(config), "units": 32}, 3, [fold(0.86), fold(0.82)])]
    about = {"strategy": "grid", "folds": 2, "texts": 400, "source": "imdb", "data": None}
    report.write_all(tmp_path, records, config, searched, about)
    text = (tmp_path / "best.toml").read_text()
    header = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    assert header.startswith("Chosen by `sentiment-lstm tune`: a grid search of 2 trial(s) over units 16, 32")
    assert "trial 2 (units 32): mean validation accuracy 0.8400 ± 0.0200 over the folds (0.8600, 0.8200)" in header
    assert "(--limit 400)" in header
    values = recipe.load(tmp_path / "best.toml")
    assert not set(values) & set(recipe.RUN_OPTIONS)
    assert Config(**values) == dataclasses.replace(config, units=32, recipe=None, limit=None, model_dir=None)
    assert values["teacher"] == "nb-lr" and values["crops"] == 2 and values["epochs"] == 3  # recipe and flags

    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    assert [(row["trial"], row["units"], row["mean_val_accuracy"], row["std_val_accuracy"]) for row in rows] == [
        ("1", "16", "0.820000", "0.020000"), ("2", "32", "0.840000", "0.020000")]
    assert rows[0]["fold_2_val_accuracy"] == "0.840000" and rows[0]["parameters"] == "1000"
    assert (tmp_path / "trials.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.toml", "trials.csv", "trials.png"]  # no temporaries


def _fixed(config):
    return {name: getattr(config, name) for name in space.SEARCHABLE}


def test_the_plot_has_a_line_per_combination_of_the_other_values(tmp_path):
    records = [report.summarise(k, {"units": u, "embed_dim": 8, "dropout": d, "layers": 1}, 2, [fold(a), fold(a)])
               for k, (u, d, a) in enumerate([(16, 0.0, 0.7), (16, 0.5, 0.8), (32, 0.0, 0.75), (32, 0.5, 0.9)], 1)]
    figure = report.plot(records, {"units": (16, 32), "dropout": (0.0, 0.5)},
                         {"strategy": "grid", "folds": 2, "texts": 100}, tmp_path / "p.png")
    accuracy, seconds = figure.axes
    assert accuracy.get_xscale() == "log" and len(seconds.get_lines()) == 2
    assert figure.get_suptitle().endswith(": one line per dropout")


# A real search, killed and resumed.

def write_texts(path, count=240, seed=0):
    """A CSV of `count` short texts of two classes: two words that say the class, and noise."""
    rng = random.Random(seed)
    words = {"good": ["great", "superb", "lovely", "fine"], "bad": ["awful", "dull", "poor", "boring"]}
    noise = ["the", "a", "film", "plot", "was", "it", "and", "movie", "scene", "very", "quite", "so"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(count):
            label = ("good", "bad")[i % 2]
            text = [rng.choice(noise) for _ in range(rng.randint(3, 8))]
            for _ in range(2):
                text.insert(rng.randrange(len(text) + 1), rng.choice(words[label]))
            writer.writerow([" ".join(text), label])
    return path


def wait_for(condition, process, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_search_killed_after_its_first_trial_resumes_with_the_rest(tmp_path):
    data, out = write_texts(tmp_path / "t.csv"), tmp_path / "out"
    command = [sys.executable, "-m", "sentiment_lstm", "tune", "--data", str(data), "--units", "4,8",
               "--folds", "2", "--epochs", "2", "--embed-dim", "8", "--recipe", "plain", "--max-length", "12",
               "--batch-size", "32", "--learning-rate", "0.01", "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: lock.lock_file(out).exists() and lock.lock_file(out).read_text().strip() == str(first.pid),
                 first)
        second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert (second.returncode, second.stdout) == (1, "")
        assert second.stderr == (f"error: Another run (pid {first.pid}) is using the search directory {out}; "
                                 "wait for it to end or choose another --out.\n")
        wait_for(lambda: (out / "trials.csv").exists(), first)
        first.send_signal(signal.SIGKILL)  # in the second trial
        first.wait(timeout=60)
    finally:
        first.kill()
    before = (out / "trials.csv").read_text().splitlines()
    assert len(before) == 2, "killed after one trial"

    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming: 1 trial(s) done before, 1 left" in resumed.stdout
    assert "Trial 1/2" not in resumed.stdout and "Trial 2/2 (units 8): fold 2/2 val_accuracy" in resumed.stdout
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [row["units"] for row in rows] == ["4", "8"]
    assert (out / "trials.csv").read_text().splitlines()[:2] == before  # the first trial as it was
    for row in rows:
        accuracies = [float(row[k]) for k in ("mean_val_accuracy", "fold_1_val_accuracy", "fold_2_val_accuracy")]
        assert all(0 <= a <= 1 for a in accuracies) and float(row["std_val_accuracy"]) >= 0
        assert float(row["train_seconds"]) > 0 and int(row["parameters"]) > 0
    assert (out / "trials.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    top = max(rows, key=lambda row: (float(row["mean_val_accuracy"]), -int(row["parameters"])))
    assert recipe.load(out / "best.toml")["units"] == int(top["units"])
    assert resumed.stdout.rstrip().endswith(f"Train it: sentiment-lstm train --recipe {out / 'best.toml'}")
    assert not lock.lock_file(out).exists()
