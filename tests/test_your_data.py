"""A user's own labeled texts, end to end: train, evaluate and predict on tables and class
folders with any number of classes, as the command line is typed; class weights,
validation texts and unlabeled texts for the teacher; small slices of the shared
20 Newsgroups archive and TREC tables (skipped where this machine has no copy)."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from script_runner import run_script
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import UNLABELED
from sentiment_lstm.text import pipeline
from sentiment_lstm.training import loop

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TREC = SHARED / "trec"
NEWS = SHARED / "20news-bydate.tar.gz"
TINY = dict(epochs=1, units=4, embed_dim=4, max_length=12, batch_size=8)
WORDS = {"billing": "invoice charge refund payment", "login": "password account locked reset",
         "shipping": "parcel delivery courier late"}


def ticket(topic, k):
    words = WORDS[topic].split()
    return f"my {words[k % 4]} and the {words[(k + 1) % 4]} again {k}"


def write_tickets(path, counts, label_column="label", text_column="body"):
    """A CSV of support tickets: `counts[topic]` texts of each topic."""
    rows = [f"{text_column},{label_column}"] + [f"{ticket(topic, k)},{topic}"
                                                for topic, n in counts.items() for k in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def flags(**settings):
    return [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]


def test_a_three_class_table_trains_evaluates_and_predicts_its_class_names(tmp_path):
    train = write_tickets(tmp_path / "tickets.csv", {"billing": 30, "login": 20, "shipping": 10}, "queue")
    test = write_tickets(tmp_path / "held.csv", {"billing": 4, "login": 4, "shipping": 4}, "queue")
    test.write_text(test.read_text() + "where is my refund,refunds\nrefund please,refunds\n")
    model = tmp_path / "m"
    trained = run_script("train.py", "--data", str(train), "--text-column", "body", "--label-column", "queue",
                         "--model-dir", str(model), *flags(**TINY))
    assert trained.returncode == 0, trained.stderr.decode()
    assert "54 texts of 3 classes for training (27 billing, 18 login, 9 shipping)" in trained.stdout.decode()
    saved = json.loads((model / "config.json").read_text())
    assert saved["labels"] == ["billing", "login", "shipping"]
    assert saved["data"]["classes"] == {"billing": 27, "login": 18, "shipping": 9}  # 10% held out, stratified

    evaluated = run_script("evaluate.py", "--model-dir", str(model), "--data", str(test))
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    assert "Left out 2 text(s) of the class 'refunds', which the model does not know" in evaluated.stdout.decode()
    metrics = json.loads((model / "metrics_held.json").read_text())
    assert metrics["n"] == 12 and metrics["skipped"] == {"refunds": 2} and list(metrics["per_class"]) == ["billing", "login", "shipping"]
    assert np.array(metrics["confusion_matrix"]).shape == (3, 3) and np.sum(metrics["confusion_matrix"]) == 12
    assert "macro_f1" in metrics and "f1" not in metrics  # more than two classes: no binary report

    predicted = run_script("predict.py", "--model-dir", str(model), ticket("login", 1), "--top-k", "2")
    assert predicted.returncode == 0, predicted.stderr.decode()
    line = json.loads(predicted.stdout)
    assert line["label"] in WORDS and len(line["scores"]) == 2 and line["label"] == next(iter(line["scores"]))
    scored = run_script("predict.py", "--model-dir", str(model), "--file", str(test), "--text-column", "body",
                        "--out", str(tmp_path / "scored.csv"), "--all-scores")
    assert scored.returncode == 0, scored.stderr.decode()
    with open(tmp_path / "scored.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header == ["body", "queue", "label", "score", "score_billing", "score_login", "score_shipping"]
    assert len(rows) == 14 and all(sum(map(float, row[4:])) == pytest.approx(1, abs=1e-5) for row in rows)


def test_integer_labels_are_class_names_in_numeric_order(tmp_path):
    table = tmp_path / "stars.tsv"
    table.write_text("text\tstars\n" + "".join(f"{ticket(t, k)}\t{s}\n" for k in range(8)
                                               for t, s in (("billing", 10), ("login", 2), ("shipping", 1))))
    train, _ = loop.read_splits(Config(data=str(table), label_column="stars", val_fraction=0.0))[:2]
    assert train.class_names == ("1", "2", "10") and train.counts() == {"1": 8, "2": 8, "10": 8}


def test_class_weights_balance_the_loss_of_an_imbalanced_table(tmp_path, monkeypatch):
    """`--class-weight balanced` weighs each text n / (classes x its class's count), in
    training and validation batches alike."""
    table = write_tickets(tmp_path / "t.csv", {"billing": 40, "login": 10, "shipping": 10})
    seen = []
    make_dataset = pipeline.make_dataset
    monkeypatch.setattr(pipeline, "make_dataset",
                        lambda texts, *a, **k: seen.append(k.get("class_weights")) or make_dataset(texts, *a, **k))
    config = Config(data=str(table), class_weight="balanced", model_dir=str(tmp_path / "m"), **TINY)
    loop.train(config)
    train = loop.read_splits(config)[0]
    expected = len(train) / (3 * np.array(list(train.counts().values())))
    assert len(seen) == 2 and all(np.allclose(w, expected) for w in seen)
    batch = next(iter(make_dataset(train, loop.read_splits(config)[2], batch_size=60, class_weights=seen[0])))
    tokens, targets, weights = (x.numpy() for x in batch)
    np.testing.assert_allclose(weights, expected[targets.argmax(1)], rtol=1e-6)


def test_validation_texts_may_be_given_and_must_hold_known_classes(tmp_path):
    train = write_tickets(tmp_path / "train.csv", {"billing": 10, "login": 10})
    given = write_tickets(tmp_path / "val.csv", {"login": 3, "billing": 2})
    _, validation, _ = loop.read_splits(Config(data=str(train), val_data=str(given)))
    assert validation.class_names == ("billing", "login") and validation.counts() == {"billing": 2, "login": 3}
    odd = write_tickets(tmp_path / "odd.csv", {"login": 3, "shipping": 1})
    with pytest.raises(UserError, match="class 'shipping', which the training data does not have"):
        loop.read_splits(Config(data=str(train), val_data=str(odd)))


def test_a_teacher_of_three_classes_labels_the_unlabeled_texts(tmp_path):
    train = write_tickets(tmp_path / "t.csv", {"billing": 12, "login": 12, "shipping": 12})
    unlabeled = tmp_path / "more.txt"
    unlabeled.write_text("\n".join(ticket(t, k + 50) for t in WORDS for k in range(5)) + "\n")
    config = Config(data=str(train), unlabeled=str(unlabeled), teacher="nb-lr", val_fraction=0.0)
    texts, _, _ = loop.read_splits(config)
    more = loop.unlabeled_texts(config, texts)
    fit, no_crops = loop.texts_to_fit(config, texts, more)
    targets = loop.start_teacher(config, texts, fit, no_crops)()
    assert len(more) == 15 and targets.shape == (36 + 15, 3)
    np.testing.assert_allclose(targets.sum(1), 1, rtol=1e-6)
    assert (fit.labels[36:] == UNLABELED).all()
    assert (targets[36:].argmax(1) == np.repeat([0, 1, 2], 5)).mean() >= 0.8  # it learned the topics
    with pytest.raises(UserError, match="give --unlabeled PATH"):
        loop.unlabeled_texts(Config(data=str(train), teacher="nb-lr"), texts)


@pytest.mark.skipif(not (TREC / "train.csv").is_file(), reason=f"no TREC copy at {TREC}")
def test_trec_questions_through_the_command_line(tmp_path):
    """`--recipe trec` finds the shared table and its columns on its own (TINY's flags
    override its model, here a Transformer encoder with attention pooling); `evaluate
    --data trec/test.csv` finds the test table; `explain` gives the attention weights."""
    model = tmp_path / "trec"
    trained = run_script("train.py", "--recipe", "trec", "--limit", "600", "--model-dir", str(model),
                         "--cell", "transformer", "--no-bidirectional", "--pooling", "attention", *flags(**TINY))
    assert trained.returncode == 0, trained.stderr.decode()
    assert json.loads((model / "config.json").read_text())["hyperparameters"]["data"] == str(
        (TREC / "train.csv").resolve())
    evaluated = run_script("evaluate.py", "--model-dir", str(model), "--data", "trec/test.csv", "--limit", "100")
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    metrics = json.loads((model / "metrics_test_limit100.json").read_text())
    assert metrics["labels"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"] and metrics["n"] == 100
    predicted = run_script("predict.py", "--model-dir", str(model), "Who wrote Hamlet ?")
    assert json.loads(predicted.stdout)["label"] in metrics["labels"]
    explained = run_script("explain.py", "--model-dir", str(model), "Who wrote Hamlet ?", "--steps", "8", "--json")
    assert explained.returncode == 0, explained.stderr.decode()
    result = json.loads(explained.stdout)
    assert result["cell"] == "transformer" and len(result["attention"]) == 4
    assert sum(result["attention"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.skipif(not NEWS.is_file(), reason=f"no 20 Newsgroups archive at {NEWS}")
def test_twenty_newsgroups_through_the_command_line(tmp_path):
    """The archive as it is: its train split trains, its test split evaluates."""
    model = tmp_path / "news"
    trained = run_script("train.py", "--recipe", "20news", "--limit", "400", "--model-dir", str(model),
                         *flags(**TINY))
    assert trained.returncode == 0, trained.stderr.decode()
    assert "360 texts of 20 classes" in trained.stdout.decode()
    evaluated = run_script("evaluate.py", "--model-dir", str(model), "--limit", "200")
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    assert "on the test split of 20news-bydate.tar.gz, at most 200 of its texts (200 texts)" in evaluated.stdout.decode()
    metrics = json.loads((model / "metrics_test_limit200.json").read_text())
    assert len(metrics["labels"]) == 20 and metrics["labels"][0] == "alt.atheism"
    assert (model / "confusion_matrix_test_limit200.png").read_bytes()[:4] == b"\x89PNG"
    predicted = run_script("predict.py", "--model-dir", str(model), "The goalie made a save in overtime.")
    assert json.loads(predicted.stdout)["label"] in metrics["labels"]
    assert len(json.loads(predicted.stdout)["scores"]) == 20
