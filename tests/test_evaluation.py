"""evaluation.py: what an evaluation writes and where. The whole test split writes
`metrics.json` and its plots; a `--limit` run or a table writes names that say what
it was on, and leaves those untouched; the card keeps the full test's metrics.

A tiny untrained model is published once; the data are the tiny IMDB folder of
`conftest.py` (its test split: one review per class) and tables written here.
"""
import json
import shutil

import pytest

from conftest import publish_tiny
from script_runner import run_script
from sentiment_lstm.core import layout
from sentiment_lstm.evaluation import evaluate

TEXTS = ["loved it", "hated it", "a great film", "a dull plot"]
FULL_TEST = ("metrics.json", "confusion_matrix.png", "roc_curve.png")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A model directory of an untrained tiny model (vocabulary adapted on TEXTS)."""
    return publish_tiny(tmp_path_factory.mktemp("published") / "model", TEXTS)


@pytest.fixture
def model_dir(published, tmp_path):
    return shutil.copytree(published, tmp_path / "model")


def snapshot(directory, names):
    return {name: (directory / name).read_bytes() for name in names}


def test_limit_and_table_runs_leave_the_full_test_metrics_untouched(model_dir, imdb_folder, tmp_path):
    full = evaluate.evaluate(model_dir, imdb_folder)
    assert full["evaluated_on"] == "the IMDB test split" and full["n"] == 2
    before = snapshot(model_dir, FULL_TEST)
    card_before = (model_dir / layout.CARD_FILE).read_text()

    limited = run_script("evaluate.py", "--model-dir", str(model_dir), "--data", str(imdb_folder), "--limit", "2")
    assert limited.returncode == 0, limited.stderr.decode()
    assert limited.stdout.decode().splitlines()[-1] == (
        f"Wrote metrics_test_limit2.json, confusion_matrix_test_limit2.png, roc_curve_test_limit2.png to {model_dir}")
    table = tmp_path / "my reviews.csv"
    table.write_text("text,label\nloved it,1\nhated it,0\na great film,1\n")
    on_table = evaluate.evaluate(model_dir, table)

    assert snapshot(model_dir, FULL_TEST) == before
    assert (model_dir / layout.CARD_FILE).read_text() == card_before  # the full test's metrics stay
    limit_metrics = json.loads((model_dir / "metrics_test_limit2.json").read_text())
    assert limit_metrics["evaluated_on"] == "the IMDB test split, at most 2 of its texts"
    assert json.loads((model_dir / "metrics_my_reviews.json").read_text()) == on_table
    assert on_table["n"] == 3 and on_table["evaluated_on"] == "the table my reviews.csv"
    for name in ("confusion_matrix_test_limit2.png", "confusion_matrix_my_reviews.png", "roc_curve_my_reviews.png"):
        assert (model_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_without_a_full_test_the_card_shows_the_latest_evaluation(model_dir, tmp_path, capsys):
    table = tmp_path / "held.tsv"
    table.write_text("text\tlabel\nloved it\t1\nhated it\t0\n")
    evaluate.evaluate(model_dir, table)
    assert "On the table held.tsv (2 texts" in (model_dir / layout.CARD_FILE).read_text()
    out = tmp_path / "elsewhere"
    evaluate.evaluate(model_dir, table, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["confusion_matrix_held.png", "metrics_held.json",
                                                     "roc_curve_held.png"]
    assert capsys.readouterr().out.splitlines()[-1] == f"Wrote metrics_held.json, confusion_matrix_held.png, roc_curve_held.png to {out}"
    assert not (model_dir / "metrics.json").exists()


def test_one_class_says_why_there_is_no_roc_auc(model_dir, tmp_path, capsys):
    table = tmp_path / "praise.csv"
    table.write_text("text,label\nloved it,positive\na great film,positive\n")
    results = evaluate.evaluate(model_dir, table)
    assert results["roc_auc"] is None
    assert results["roc_auc_reason"] == "it needs texts of two classes or more, and all 2 are positive"
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == (f"Accuracy {results['accuracy']:.4f}, F1 {results['f1']:.4f}, no ROC AUC (it needs "
                         "texts of two classes or more, and all 2 are positive), on the table praise.csv (2 texts).")
    assert lines[-1] == f"Wrote metrics_praise.json, confusion_matrix_praise.png to {model_dir}"
    assert not (model_dir / "roc_curve_praise.png").exists()
    assert "No ROC AUC: it needs texts of two classes or more, and all 2 are positive." in (
        model_dir / layout.CARD_FILE).read_text()


def test_report_names_say_what_the_evaluation_was_on(tmp_path):
    assert evaluate.report_names(tmp_path)["metrics"] == tmp_path / "metrics.json"
    assert evaluate.report_names(tmp_path, "some/aclImdb", 200)["roc"] == tmp_path / "roc_curve_test_limit200.png"
    assert evaluate.report_names(tmp_path, "a/b.tsv", 5)["confusion"] == tmp_path / "confusion_matrix_b_limit5.png"
