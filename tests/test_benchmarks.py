"""The benchmarks: tables, percentiles, results schema, recipes, TF-IDF, PyTorch skip,
peak memory, and tiny runs of the scripts (and of scripts/serving_lengths.py).

Nothing here trains a real model on real data: results dicts, corpora and folders
are made up by the tests.
"""
import json
import runpy
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import environment, epoch_speed, imdb, processes, torch_lstm
from conftest import TINY_IMDB, write_imdb_folder
from script_runner import REPO, run_script
from sentiment_lstm.core import recipe
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError

SETTINGS = {
    "quick": False, "limit": None, "test_limit": None, "epochs": None,
    "best_recipe": imdb.best_recipe("best"),  # recipes/best.toml
    "data": None, "models": list(imdb.ENTRIES), "inference_reviews": 2000, "inference_batch": 256,
    "latency_calls": 200, "warmup_calls": 20, "keep_models": False,
    "command": "python benchmarks/imdb.py", "out_dir": "benchmarks/results", "work_dir": "benchmarks/out/imdb",
}
ENVIRONMENT = {"commit": "0123456789abcdef", "uncommitted_changes": False, "date": "2026-01-01T00:00:00+00:00",
               "machine": {"cpu": "Test CPU", "cores": 2, "platform": "Linux"},
               "keras_backend": "tensorflow", "versions": {"python": "3.11", "keras": "3.15.1"}}


def entry(name, accuracy, seconds, epochs, train_rss, serve_rss, throughput, p50, p99, **extra):
    label = imdb.ENTRIES[name][0]
    return {"name": name, "label": label, "test_accuracy": accuracy, "train_seconds": seconds,
            "epochs": epochs, "peak_rss_mib": {"train": train_rss, "evaluate": 700.0, "serve": serve_rss},
            "throughput_reviews_per_s": throughput,
            "latency_ms": {"p50_ms": p50, "p99_ms": p99, "mean_ms": p50, "calls": 200},
            "command": "python train.py", **extra}


MODELS = [
    entry("tfidf", 0.9046, 39.04, None, 2100.4, None, 15000.0, 0.4123, 0.9, ),
    entry("rnn", 0.8123, 300.0, 4, 1500.0, 600.2, 900.4, 3.0, 6.5),
    entry("gru", 0.8601, 400.0, 5, 1600.0, 610.0, 800.0, 4.0, 7.0),
    entry("lstm", 0.8712, 450.55, 6, 1650.5, 620.0, 700.0, 5.0, 9.25),
    {"name": "best", "label": imdb.ENTRIES["best"][0], "error": "train.py for best exited with status 1"},
]


def test_markdown_table_has_exact_rows():
    lines = imdb.markdown_table(MODELS).splitlines()
    assert lines == [
        "| model | test accuracy | train time (s) | epochs | peak RSS train (MiB) | peak RSS serve (MiB) "
        "| batch throughput (reviews/s) | latency p50 (ms) | latency p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| TF-IDF + logistic regression | 90.46% | 39.0 | – | 2100 | – | 15000 | 0.41 | 0.90 |",
        "| ours: SimpleRNN | 81.23% | 300.0 | 4 | 1500 | 600 | 900 | 3.00 | 6.50 |",
        "| ours: GRU | 86.01% | 400.0 | 5 | 1600 | 610 | 800 | 4.00 | 7.00 |",
        "| ours: LSTM | 87.12% | 450.6 | 6 | 1650 | 620 | 700 | 5.00 | 9.25 |",
        "| best recipe (ours: LSTM) | failed: train.py for best exited with status 1 "
        "| – | – | – | – | – | – | – |",
    ]


def test_verdict_answers_lstm_against_rnn_and_gru():
    lines = imdb.lstm_verdict(MODELS)
    assert lines == [
        "- LSTM vs SimpleRNN: better by 5.89 points (87.12% vs 81.23%); latency p50 5.00 ms vs "
        "3.00 ms (1.67x), throughput 700 vs 900 reviews/s.",
        "- LSTM vs GRU: better by 1.11 points (87.12% vs 86.01%); latency p50 5.00 ms vs "
        "4.00 ms (1.25x), throughput 700 vs 800 reviews/s.",
    ]
    assert imdb.lstm_verdict(MODELS[:1]) == []


def test_latency_percentiles_in_milliseconds():
    seconds = np.arange(1, 101) / 1000.0  # 1 ms .. 100 ms
    summary = imdb.latency_percentiles(seconds)
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p99_ms"] == pytest.approx(99.01)
    assert summary["mean_ms"] == pytest.approx(50.5)
    assert summary["calls"] == 100
    assert imdb.latency_percentiles([0.002])["p99_ms"] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        imdb.latency_percentiles([])


def test_measure_inference_calls_batches_and_singles():
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return np.zeros((len(batch), 2))

    result = imdb.measure_inference(predict, [f"review {k}" for k in range(10)], batch_size=4,
                                    latency_calls=7, warmup_calls=3, passes=2)
    assert calls == [4] + [4, 4, 2] * 2 + [1] * 3 + [1] * 7
    assert result["latency_ms"]["calls"] == 7
    assert result["throughput_reviews_per_s"] > 0 and len(result["throughput_passes"]) == 2
    assert (result["inference_reviews"], result["inference_batch"]) == (10, 4)


def best_entry(settings):
    train, evaluate = imdb.commands("best", settings, REPO / "benchmarks/out/imdb/best")
    return entry("best", 0.88, 500.0, 7, 1700.0, 640.0, 650.0, 5.5, 10.0,
                 command=imdb.command_line(train, evaluate))


def test_results_json_schema_and_best_command_reproduces_the_recipe():
    settings = {**SETTINGS, "data": "../shared/data/aclImdb_v1.tar.gz", "epochs": 3}
    results = imdb.assemble([*MODELS[:4], best_entry(settings)], settings, ENVIRONMENT)
    json.loads(json.dumps(results))  # serialisable
    best = results["best_custom_lstm"]
    assert {"test_accuracy", "train_seconds", "command"} <= set(best)
    assert (best["test_accuracy"], best["train_seconds"]) == (0.88, 500.0)
    for key in ("commit", "date", "cores", "versions"):
        assert results[key] is not None
    assert results["cores"] == 2

    # The recipe is recorded beside the command: its name, file, contents and values.
    best_toml = REPO / "recipes" / "best.toml"
    assert best["recipe"] == {"name": "best", "file": "recipes/best.toml", "toml": best_toml.read_text(),
                              "values": recipe.load("best")}
    assert results["settings"]["best_recipe"] == best["recipe"]
    assert best["train_flags"] == ["--recipe", "best", "--data", "../shared/data/aclImdb_v1.tar.gz",
                                   "--epochs", "3"]

    train_part, evaluate_part = best["command"].split(" && ")
    _, script, *flags = shlex.split(train_part)
    assert script == "train.py"
    assert flags[:2] == ["--recipe", "best"] and flags[-2:] == ["--model-dir", "benchmarks/out/imdb/best"]
    reproduced = imdb.parse_train_flags(flags)
    assert reproduced == Config(**{**recipe.load("best"), "recipe": "best", "epochs": 3,
                                   "data": "../shared/data/aclImdb_v1.tar.gz",
                                   "model_dir": "benchmarks/out/imdb/best"})
    assert (reproduced.teacher, reproduced.max_length, reproduced.serve_max_length) == ("nb-lr", 400, 0)
    assert shlex.split(evaluate_part)[1:4] == ["evaluate.py", "--model-dir", "benchmarks/out/imdb/best"]

    report = imdb.markdown_report(results)
    assert imdb.markdown_table(results["models"]) in report
    assert "Is the LSTM better than the simple RNN and the GRU here" in report
    assert f"Best recipe `recipes/best.toml`: `{best['command']}`" in report
    assert "```toml\n" + best_toml.read_text().rstrip("\n") + "\n```" in report


def test_every_neural_entry_trains_from_its_recipe():
    expected = {"keras-lstm": "keras-lstm", "rnn": "rnn", "gru": "gru", "lstm": "plain", "best": "best"}
    for name, recipe_name in expected.items():
        flags = imdb.train_flags(name, {**SETTINGS, "limit": 2000, "epochs": 2})
        assert flags == ["--recipe", recipe_name, "--limit", "2000", "--epochs", "2"]
        settings = imdb.entry_config(name, {**SETTINGS, "limit": 2000, "epochs": 2})
        assert settings == Config(**{**recipe.load(recipe_name), "recipe": recipe_name, "limit": 2000,
                                     "epochs": 2})
    cells = {name: imdb.entry_config(name, SETTINGS).cell for name in expected}
    assert cells == {"keras-lstm": "keras-lstm", "rnn": "rnn", "gru": "gru", "lstm": "lstm", "best": "lstm"}


def write_recipe(folder, name, text):
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_a_best_recipe_file_is_given_to_train_py_by_its_path(tmp_path):
    path = write_recipe(tmp_path, "mine", "# my recipe\nunits = 96\nbucket = false\n")
    record = imdb.best_recipe(str(path))
    assert record == {"name": str(path), "file": str(path), "toml": "# my recipe\nunits = 96\nbucket = false\n",
                      "values": {"units": 96, "bucket": False}}
    settings = {**SETTINGS, "best_recipe": record}
    assert imdb.train_flags("best", settings) == ["--recipe", str(path)]
    assert imdb.entry_config("best", settings) == Config(recipe=str(path), units=96, bucket=False)


def test_data_line_names_the_best_recipes_own_split(tmp_path):
    def line(text):
        best = imdb.best_recipe(str(write_recipe(tmp_path, "line", text)))
        return imdb.describe_data({**SETTINGS, "limit": None, "test_limit": None, "epochs": None,
                                   "best_recipe": best})

    assert "the best recipe" not in line("units = 128")
    refit = line("val_fraction = 0\nepochs = 7")
    assert "the best recipe: all, its epochs fixed by --epochs, no early stopping" in refit
    assert "the best recipe: 80% train, 20% validation" in line("val-fraction = 0.2")
    assert "the best recipe" not in imdb.describe_data(SETTINGS)  # recipes/best.toml keeps the split


def test_results_without_best_entry_say_so():
    assert imdb.assemble(MODELS[:2], SETTINGS, ENVIRONMENT)["best_custom_lstm"] is None


def test_best_recipe_reuses_the_lstm_run_only_when_settings_match(tmp_path):
    lstm = entry("lstm", 0.87, 450.0, 6, 1650.0, 620.0, 700.0, 5.0, 9.0)

    def best(name_or_path):
        return {**SETTINGS, "best_recipe": imdb.best_recipe(str(name_or_path))}

    assert imdb.reusable_twin("best", best("plain"), [lstm]) is lstm
    assert imdb.reusable_twin("best", SETTINGS, [lstm]) is None  # recipes/best.toml
    assert imdb.reusable_twin("gru", best("plain"), [lstm]) is None
    # Another recipe's name, another run name, the defaults written out: the same training.
    renamed = write_recipe(tmp_path, "renamed", 'name = "other"\nunits = 64\ncell = "lstm"\n')
    assert imdb.reusable_twin("best", best(renamed), [lstm]) is lstm
    assert imdb.reusable_twin("best", best(write_recipe(tmp_path, "wider", "units = 65\n")), [lstm]) is None
    assert imdb.reusable_twin("best", best("plain"), [{**lstm, "error": "failed"}]) is None


BAD_RECIPES = [  # (file contents or None for a name, the start of the message after "--best-recipe X")
    ("units = 0", "The recipe {path} sets 'units' to 0, but --units must be at least 1, not 0."),
    ("bogus = 1", "The recipe {path} sets 'bogus', which is not a training setting."),
    ('model_dir = "x"', "The recipe {path} sets 'model_dir', which is a run option, set on the command line."),
    ("limit = 5", "The recipe {path} sets 'limit', which is a run option"),
    ("units = [", "The recipe {path} is not valid TOML"),
    ("jit_compile = true", "--jit-compile needs --no-deterministic"),
]


@pytest.mark.parametrize("text, message", BAD_RECIPES)
def test_bad_best_recipes_are_one_sentence(text, message, tmp_path):
    path = write_recipe(tmp_path, "bad", text + "\n")
    with pytest.raises(UserError) as error:
        imdb.best_recipe(str(path))
    assert str(error.value).startswith(f"--best-recipe {path}: " + message.format(path=path))
    assert str(error.value).endswith(".") and "\n" not in str(error.value)


def test_best_recipe_must_exist_and_keep_the_lstm(tmp_path):
    with pytest.raises(UserError, match=r"^--best-recipe nope: There is no recipe named 'nope'; choose one "
                                        r"of 20news, best, default, gru, keras-lstm, plain, rnn, transformer, trec or give a "
                                        r"\.toml file\.$"):
        imdb.best_recipe("nope")
    with pytest.raises(UserError, match=rf"^--best-recipe {tmp_path}/none\.toml: The recipe file .* does not exist\.$"):
        imdb.best_recipe(str(tmp_path / "none.toml"))
    for name in ("gru", "rnn", "keras-lstm", "transformer"):
        with pytest.raises(UserError) as error:
            imdb.best_recipe(name)
        assert str(error.value) == (f'--best-recipe {name} must keep cell = "lstm" (the best recipe is the '
                                    f"project's LSTM), not cell = {recipe.load(name)['cell']!r}.")
    assert imdb.best_recipe("default")["values"] == recipe.load("default")


def test_best_recipe_is_checked_with_the_benchmarks_epochs(tmp_path):
    """A cosine schedule over 5 epochs is a fine recipe, but not with --epochs 7."""
    path = write_recipe(tmp_path, "cosine", 'lr_schedule = "cosine"\nlr_schedule_epochs = 5\nepochs = 5\n')
    parser = imdb.make_parser()
    assert imdb.settings_from(parser.parse_args(["--best-recipe", str(path)]), [])["best_recipe"]["values"] == {
        "lr_schedule": "cosine", "lr_schedule_epochs": 5, "epochs": 5}
    with pytest.raises(UserError) as error:
        imdb.settings_from(parser.parse_args(["--best-recipe", str(path), "--epochs", "7"]), [])
    assert str(error.value) == (f"--best-recipe {path}: --lr-schedule-epochs must be at least --epochs (7), "
                                "since the cosine schedule reaches 0 after it, not 5.")
    # Without the best entry its recipe is still checked, but not its train.py flags.
    args = parser.parse_args(["--best-recipe", str(path), "--epochs", "7", "--models", "lstm"])
    assert imdb.settings_from(args, [])["models"] == ["lstm"]


def test_tfidf_baseline_accuracy_matches_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(0)
    good, bad, neutral = ["great", "superb", "moving", "loved"], ["awful", "dull", "boring", "hated"], \
        ["film", "plot", "actor", "scene", "story", "the", "a"]

    def corpus(n):
        labels = rng.integers(0, 2, n)
        texts = [" ".join(rng.choice(neutral, 6).tolist() + rng.choice([bad, good][y], 1).tolist()
                          + rng.choice(good + bad, 1).tolist()) for y in labels]
        return texts, labels

    train_texts, train_labels = corpus(120)
    test_texts, test_labels = corpus(60)
    pipeline, metrics = imdb.tfidf_baseline(train_texts, train_labels, test_texts, test_labels)

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    classifier = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(train_texts), train_labels)
    expected = accuracy_score(test_labels, classifier.predict(vectorizer.transform(test_texts)))
    assert metrics["test_accuracy"] == pytest.approx(expected)
    assert 0.6 < metrics["test_accuracy"] <= 1.0
    assert (metrics["n_train"], metrics["n_test"]) == (120, 60)
    assert metrics["vocabulary_size"] == len(vectorizer.vocabulary_)
    assert metrics["train_seconds"] > 0
    assert pipeline.predict_proba(["great film"]).shape == (1, 2)


@pytest.mark.parametrize("name", imdb.NGRAM_ENTRIES)
def test_ngram_baseline_child_scores_the_test_split_without_tensorflow(name, tmp_path):
    """`imdb.py --run-one tfidf|nb-lr` on a 4-review folder: one JSON result, the test
    accuracy of its own classifier, and TensorFlow never loaded."""
    folder = write_imdb_folder(tmp_path, TINY_IMDB)
    reviews = tmp_path / "reviews.json"
    reviews.write_text(json.dumps(["Great film!", "Dull plot."]))
    result = tmp_path / "result.json"
    run = run_script("benchmarks/imdb.py", "--run-one", name, "--data", str(folder), "--inference-batch", "2",
                     "--latency-calls", "3", "--warmup-calls", "1", "--reviews-file", str(reviews),
                     "--result", str(result))
    assert run.returncode == 0, run.stderr.decode()
    metrics = json.loads(result.read_text())
    assert metrics["tensorflow_loaded"] is False
    assert (metrics["n_train"], metrics["n_test"]) == (4, 2)
    assert metrics["test_accuracy"] in (0.0, 0.5, 1.0) and metrics["latency_ms"]["calls"] == 3


def test_nb_lr_baseline_is_the_teacher():
    from sentiment_lstm.training import teacher

    texts = ["good film", "really good", "great acting", "not good", "bad film", "not great"] * 5
    labels = np.array([1, 1, 1, 0, 0, 0] * 5)
    tests, truth = ["a good film", "not good at all", "great", "bad"], np.array([1, 0, 1, 1])
    probabilities, metrics = imdb.nb_lr_baseline(texts, labels, tests, truth)
    expected = teacher.NBLR(texts, labels).log_odds(tests)
    np.testing.assert_allclose(probabilities(tests)[:, 1], 1 / (1 + np.exp(-expected)), rtol=1e-6)
    assert metrics["test_accuracy"] == np.mean((expected > 0) == truth) == 0.75
    assert (metrics["n_train"], metrics["n_test"]) == (30, 4)


def test_child_peak_rss_is_its_own(tmp_path):
    parent = bytearray(300 * 2**20)  # a big parent must not show in its child's figure
    parent[::4096] = b"1" * len(parent[::4096])
    status, seconds, rss = imdb.run_child(
        ["-c", "import time; x = bytearray(150 * 2**20); x[::4096] = b'1' * len(x[::4096]); "
               "del x; time.sleep(0.3)"], tmp_path / "child.log")
    assert status == 0 and seconds > 0.3
    assert 150 < rss < 290
    status, _, rss = imdb.run_child(["-c", "import time; time.sleep(0.2)"], tmp_path / "small.log")
    assert status == 0 and rss < 100
    status, _, _ = imdb.run_child(["-c", "raise SystemExit(3)"], tmp_path / "fail.log")
    assert status == 3
    del parent


def test_torch_pipeline_is_skipped_with_a_reason_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    torch, reason = torch_lstm.availability()
    assert torch is None
    assert "PyTorch is not installed" in reason and "pip install -r requirements-test.txt" in reason
    with pytest.raises(RuntimeError, match="PyTorch is not installed"):
        torch_lstm.TorchLSTMTrainer(100, Config(), threads=1)
    assert epoch_speed.skipped_pytorch(reason) == {"skipped": reason}
    pipelines = {"ours": {"seconds_per_epoch": 10.0}, "keras": {"seconds_per_epoch": 25.0},
                 "pytorch": epoch_speed.skipped_pytorch(reason)}
    assert epoch_speed.ratios(pipelines) == {
        "ours_vs_keras": {"speedup": 2.5, "bar": 3.0, "meets_bar": False},
        "ours_vs_pytorch": {"speedup": None, "bar": 1.0, "meets_bar": None},
    }


def test_torch_twin_trains_on_padded_batches():
    pytest.importorskip("torch", reason="PyTorch is a test dependency (requirements-test.txt)")
    tokens = np.array([[5, 6, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]], dtype=np.int32)
    assert torch_lstm.lengths_of(tokens).tolist() == [3, 1, 1]
    labels = np.eye(2, dtype=np.float32)[[1, 0, 1]]
    trainer = torch_lstm.TorchLSTMTrainer(20, Config(units=4, embed_dim=3), threads=1, seed=0)
    assert trainer.threads == 1
    loss = trainer.train_epoch([(tokens, labels)] * 3)
    assert np.isfinite(loss)
    probabilities = trainer.predict(tokens)
    assert probabilities.shape == (3, 2) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    # Padding after a row's length changes nothing: packed sequences stop at the length.
    longer = np.pad(tokens, ((0, 0), (0, 3)))
    assert np.allclose(trainer.predict(longer), probabilities, atol=1e-6)


def test_epoch_speed_summary_and_ratios():
    summary = epoch_speed.summarize([12.0, 10.0, 30.0], samples=2000, peaks=[900.0, 950.0, 920.0])
    assert summary["seconds_per_epoch"] == 12.0
    assert summary["samples_per_s"] == pytest.approx(2000 / 12.0)
    assert summary["peak_rss_mib"] == 950.0
    ratios = epoch_speed.ratios({"ours": {"seconds_per_epoch": 10.0}, "keras": {"seconds_per_epoch": 15.0},
                                 "pytorch": {"seconds_per_epoch": 12.0}})
    assert ratios["ours_vs_keras"]["speedup"] == pytest.approx(1.5)
    assert ratios["ours_vs_keras"]["meets_bar"] is False
    assert ratios["ours_vs_pytorch"]["meets_bar"] is True


def touched_block(mib):
    """`mib` MiB of numpy memory, every page written, so it is resident."""
    block = np.empty(mib * 2**20, dtype=np.uint8)
    block[::4096] = 1
    return block


def test_peak_rss_tracks_a_block():
    """epoch_speed.PeakRSS, in this process (TensorFlow and all): the peak of a block
    holding 300 MiB for a moment exceeds that of an idle block by about 300 MiB."""
    with epoch_speed.PeakRSS() as idle:
        time.sleep(0.1)
    with epoch_speed.PeakRSS() as busy:
        block = touched_block(300)
        time.sleep(0.1)  # time for the sampling thread, where VmHWM cannot be reset
        del block
    assert 250 < busy.peak_mib - idle.peak_mib < 400, (busy.peak_mib, idle.peak_mib)
    with epoch_speed.PeakRSS() as after:  # the high-water mark starts again from what is resident
        time.sleep(0.1)
    assert after.peak_mib - idle.peak_mib < 100, (after.peak_mib, idle.peak_mib)


def test_child_peak_rss_grows_by_what_the_child_allocates(tmp_path):
    """processes.run_child, as imdb.py measures train.py: a child that holds 300 MiB of
    numpy memory peaks about 300 MiB above the same child allocating nothing."""
    snippet = ("import time; import numpy as np; mib = {}; "
               "block = np.empty(mib * 2**20, dtype=np.uint8); block[::4096] = 1; time.sleep(0.3)")
    peaks = {}
    for mib in (0, 300):
        status, seconds, peaks[mib] = processes.run_child(["-c", snippet.format(mib)], tmp_path / f"{mib}.log")
        assert status == 0 and seconds > 0.3, processes.last_line(tmp_path / f"{mib}.log")
    assert 250 < peaks[300] - peaks[0] < 400, peaks


@pytest.mark.parametrize("script, args, status, message", [
    ("imdb.py", ["--best-recipe", "nope"], 2,
     "error: --best-recipe nope: There is no recipe named 'nope'; choose one of 20news, best, default, gru, "
     "keras-lstm, plain, rnn, transformer, trec or give a .toml file.\n"),
    ("imdb.py", ["--best-recipe", "gru"], 2, 'error: --best-recipe gru must keep cell = "lstm"'),
    ("imdb.py", ["--best-recipe", "no/such/recipe.toml"], 2,
     "error: --best-recipe no/such/recipe.toml: The recipe file no/such/recipe.toml does not exist."),
    ("imdb.py", ["--models", "cnn"], 2, "error: argument --models: invalid choice: 'cnn'"),
    ("imdb.py", ["--quick", "--data", "no/such/archive.tar.gz"], 1, "error: The IMDB data path "),
    ("imdb.py", ["--latency-calls", "0"], 2, "error: argument --latency-calls: must be at least 1, not 0"),
    ("epoch_speed.py", ["--rounds", "0"], 2, "error: argument --rounds: must be at least 1, not 0"),
    ("epoch_speed.py", ["--limit", "1"], 2, "error: argument --limit: must be at least 2"),
    ("epoch_speed.py", ["--data", "no/such/archive.tar.gz"], 1, "error: The IMDB data path "),
])
def test_user_mistakes_are_one_sentence(script, args, status, message, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / "benchmarks" / script), run_name="__main__")
    err = capsys.readouterr().err
    assert exit_info.value.code == status, err
    assert err.startswith(message), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_layer_throughput_reports_the_layer_share(tmp_path):
    """A tiny run of benchmarks/layer_throughput.py: every model is timed, and the
    recurrent layer's own ratio follows from the no-RNN baseline as documented."""
    out = tmp_path / "layers.json"
    argv = ["layer_throughput.py", "--cells", "lstm", "--masks", "1", "--batch", "4", "--time", "24",
            "--units", "3", "--embed", "5", "--vocab", "50", "--batches", "2", "--rounds", "1", "--out", str(out)]
    old_argv = sys.argv
    try:
        sys.argv = argv
        runpy.run_path(str(REPO / "benchmarks" / "layer_throughput.py"), run_name="__main__")
    finally:
        sys.argv = old_argv
    rows = {row["model"]: row for row in json.loads(out.read_text())["results"]}
    assert set(rows) == {"base mask=1", "lstm mask=1 keras", "lstm mask=1 ours"}
    base, keras_rate, ours = (rows[k]["samples_per_s"] for k in ("base mask=1", "lstm mask=1 keras", "lstm mask=1 ours"))
    expected = (1 / keras_rate - 1 / base) / (1 / ours - 1 / base)
    assert rows["lstm mask=1 ours"]["layer_ratio_to_keras"] == pytest.approx(expected, rel=1e-2)
    assert rows["lstm mask=1 ours"]["ratio_to_keras"] == pytest.approx(ours / keras_rate, rel=1e-2)


def test_layer_throughput_autodiff_model_trains_without_the_hand_written_backward(tmp_path, monkeypatch):
    """`--autodiff`: the extra LSTM never reaches the fused or packed recurrence, in
    tracing or training, while our plain LSTM does; `fused.fusable` is itself after."""
    from sentiment_lstm.rnn import fused, packed

    fusable = fused.fusable
    reached = []  # the cells that ran the hand-written backward's forward pass

    def recording(module, name):
        original = getattr(module, name)

        def wrapper(cell, *args, **kwargs):
            reached.append(cell)
            return original(cell, *args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    recording(fused, "lstm_recurrence")
    recording(packed, "lstm_recurrence")
    script = runpy.run_path(str(REPO / "benchmarks" / "layer_throughput.py"))
    report, models = script["main"](["--cells", "lstm", "--masks", "1", "0", "--batch", "4", "--time", "24",
                                      "--units", "3", "--embed", "5", "--vocab", "50", "--batches", "2",
                                      "--rounds", "1", "--autodiff", "--out", str(tmp_path / "autodiff.json")])
    assert fused.fusable is fusable

    def cell(name):
        return next(layer for layer in models[name][2].layers if hasattr(layer, "cell")).cell

    for mask in (1, 0):
        assert any(c is cell(f"lstm mask={mask} ours") for c in reached)
        assert not any(c is cell(f"lstm mask={mask} ours-autodiff") for c in reached)
    rows = {row["model"]: row for row in report["results"]}
    assert rows["lstm mask=1 ours-autodiff"]["samples_per_s"] > 0
    assert json.loads((tmp_path / "autodiff.json").read_text())["results"] == report["results"]


def test_layer_throughput_writes_under_benchmarks_results_by_default():
    script = runpy.run_path(str(REPO / "benchmarks" / "layer_throughput.py"))
    import keras

    assert script["default_out"]() == Path(f"benchmarks/results/layer_throughput_{keras.backend.backend()}.json")
    assert imdb.DEFAULT_OUT == REPO / "benchmarks" / "results"
    assert (imdb.RESULTS_JSON, imdb.RESULTS_MD) == ("imdb.json", "imdb.md")
    assert epoch_speed.DEFAULT_OUT == REPO / "benchmarks" / "results" / "epoch_speed.json"


def test_epoch_speed_runs_each_pipeline_in_its_own_process(tmp_path):
    """A tiny run of benchmarks/epoch_speed.py on a 4-review folder: every pipeline's
    worker reports each round, ours with train.py's thread setting, the reference with
    TensorFlow's default."""
    folder = write_imdb_folder(tmp_path, TINY_IMDB)
    out = tmp_path / "speed.json"
    result = run_script("benchmarks/epoch_speed.py", "--data", str(folder), "--rounds", "2", "--no-torch",
                        "--no-jax", "--warmup-batches", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(out.read_text())
    assert report["settings"]["reviews"] == 4
    assert report["pipelines"]["pytorch"] == {"skipped": "--no-torch was given"}
    assert report["pipelines"]["keras-jax"] == {"skipped": "--no-jax was given"}
    for name in ("ours", "keras", "keras-same-threads"):
        assert len(report["pipelines"][name]["rounds_seconds"]) == 2
        assert report["pipelines"][name]["peak_rss_mib"] > 100  # a process with TensorFlow loaded
    assert report["setup"]["ours"]["tensorflow_intra_op_threads"] == Config().intra_op_threads == 1
    assert report["setup"]["keras-same-threads"]["tensorflow_intra_op_threads"] == 1
    assert str(report["setup"]["keras"]["tensorflow_intra_op_threads"]).startswith("default")
    assert set(report["ratios"]) == {"ours_vs_keras", "ours_vs_pytorch", "ours_vs_keras_same_threads"}


def test_lazy_adam_benchmark_keeps_every_ngram_of_its_batches():
    import keras

    from benchmarks import lazy_adam
    from sentiment_lstm.model import ngrams

    rng = np.random.default_rng(0)
    batches = [rng.integers(2, lazy_adam.VOCABULARY, (3, 5)) for _ in range(2)]
    keys = lazy_adam.table_keys(batches, 3, 40, rng)
    assert len(keys) == 40 and np.all(np.diff(keys) > 0)
    index = np.concatenate([keras.ops.convert_to_numpy(ngrams.lookup(keys, batch, lazy_adam.VOCABULARY, 3))
                            for batch in batches])
    assert np.all(index > 0)  # each step finds its own trigram's row


def test_cpu_record_names_family_model_and_vector_extensions(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\ncpu family\t: 25\nmodel\t\t: 1\n"
                       "flags\t\t: fpu sse avx2 fma avx avx512f\n\n"
                       "processor\t: 1\nmodel name\t: Other\ncpu family\t: 6\nmodel\t\t: 2\nflags\t\t: amx_tile\n")
    record = environment.cpu(cpuinfo)
    assert record == {"cpu": "AMD EPYC", "cpu_family_model": "25/1", "vector_extensions": ["avx", "avx2", "fma", "avx512f"]}
    assert imdb.describe_cpu(record) == "AMD EPYC (family/model 25/1; avx, avx2, fma, avx512f)"
    assert imdb.describe_cpu({"cpu": "Test CPU"}) == "Test CPU"
    assert environment.cpu(tmp_path / "missing")["vector_extensions"] == []


def test_serving_lengths_scores_each_length_on_the_held_out_reviews(write_imdb, tmp_path):
    """scripts/serving_lengths.py on a tiny model: one accuracy per requested length,
    each the one its end-to-end model gets on the run's validation reviews."""
    from sentiment_lstm.data import sources
    from sentiment_lstm.inference import classify
    from sentiment_lstm.model import network
    from sentiment_lstm.training import loop

    words = ["plot", "acting", "scene", "story", "film", "ending", "music", "cast"]
    extra = {}
    for k in range(16):  # reviews of 2 to 17 words, so the lengths read differ
        label = ("pos", "neg")[k % 2]
        body = " ".join(words[(k + j) % len(words)] for j in range(1 + k))
        extra[("train", label, f"{100 + k}_{(8, 2)[k % 2]}.txt")] = f"{('great', 'awful')[k % 2]} {body}".encode()
    folder = write_imdb({**TINY_IMDB, **extra})
    settings = Config(data=str(folder), val_fraction=0.5, epochs=2, units=3, embed_dim=4, max_length=6,
                      model_dir=str(tmp_path / "model"),
                      deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    loop.train(settings)

    script = runpy.run_path(str(REPO / "scripts" / "serving_lengths.py"))
    report = script["main"]([settings.model_dir, "--data", str(folder), "--lengths", "6", "1", "0",
                             "--out", str(tmp_path / "lengths.json")])
    by_length = report["accuracy_by_length"]
    assert set(by_length) == {"6", "1", "0"} and all(0.0 <= v <= 1.0 for v in by_length.values())
    assert report["reviews"] == 10 and report["split"] == "validation"  # half of the 20 training reviews
    written = json.loads((tmp_path / "lengths.json").read_text())
    assert written["accuracy_by_length"] == by_length and "commit" in written

    # By hand: the same held-out reviews through the same weights, reading 1 and all tokens.
    classifier = classify.load(settings.model_dir)
    reviews = sources.held_out(classifier.config, "validation", str(folder))
    token_model, vectorizer = network.parts(classifier.model)
    for length in (1, 0):
        served = classify.Classifier(network.build_end_to_end(token_model, vectorizer, length or None),
                                               classifier.labels, classifier.config)
        expected = float(np.mean(served.predict_proba(list(reviews.texts)).argmax(1) == np.asarray(reviews.labels)))
        assert by_length[str(length)] == expected
    trained = float(np.mean(classifier.predict_proba(list(reviews.texts)).argmax(1) == np.asarray(reviews.labels)))
    assert by_length["6"] == trained  # the model as saved reads its --max-length, 6 tokens


def test_epoch_speed_ratios_name_the_fastest_peer():
    pipelines = {"ours": {"seconds_per_epoch": 10.0}, "keras": {"seconds_per_epoch": 35.0},
                 "pytorch": {"seconds_per_epoch": 60.0}, "pytorch-unpacked": {"seconds_per_epoch": 15.0},
                 "keras-jax": {"seconds_per_epoch": 12.0}, "ours-jax": {"seconds_per_epoch": 11.0},
                 "pytorch-compiled": {"skipped": "not among --pipelines"}}
    ratios = epoch_speed.ratios(pipelines)
    assert ratios["ours_vs_keras"] == {"speedup": 3.5, "bar": 3.0, "meets_bar": True}
    assert ratios["ours_vs_pytorch_unpacked"]["speedup"] == pytest.approx(1.5)
    assert "ours_vs_pytorch_compiled" not in ratios
    # ours-jax is ours on another backend, not a peer, though faster than keras-jax
    assert ratios["ours_vs_fastest_peer"] == {"speedup": pytest.approx(1.2), "bar": 2.0, "meets_bar": False,
                                              "peer": "keras-jax"}


def test_epoch_speed_warm_up_covers_every_batch_shape():
    batches = [(np.zeros(shape), None) for shape in [(64, 20), (64, 20), (64, 40), (64, 20), (7, 40), (64, 40)]]
    chosen = epoch_speed.warmup_batches(batches, 1)
    assert [x.shape for x, _ in chosen] == [(64, 20), (64, 40), (7, 40)]


def test_epoch_speed_batches_round_trip_through_npz(tmp_path):
    batches = [(np.array([[3, 4, 0]], np.int32), np.array([[0.0, 1.0]], np.float32)),
               (np.array([[5, 0], [6, 7]], np.int32), np.array([[1.0, 0.0], [0.0, 1.0]], np.float32))]
    epoch_speed.save_batches(tmp_path / "b.npz", batches, 123)
    loaded, size = epoch_speed.load_batches(tmp_path / "b.npz")
    assert size == 123 and len(loaded) == 2
    for (x, y), (x2, y2) in zip(batches, loaded):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        assert x2.dtype == np.int32


def test_the_workloads_benchmark_runs_every_kind_of_entry_on_a_table(tmp_path):
    """benchmarks/workloads.py on a 3-class table of our own, its recipe and test table
    given: the baselines' accuracy is that of the same pipelines fitted here, the LSTM's
    (at the unit count given as tune's) is evaluate's, and every entry is timed."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    words = {"sport": "goal match team", "music": "song band album", "money": "bank loan rate"}
    rows = lambda n: [(f"the {w.split()[k % 3]} and {w.split()[(k + 1) % 3]} {k}", c)  # noqa: E731
                      for c, w in words.items() for k in range(n)]
    for name, n in (("train", 12), ("test", 4)):
        (tmp_path / f"{name}.csv").write_text("text,label\n" + "".join(f"{t},{c}\n" for t, c in rows(n)))
    (tmp_path / "tiny.toml").write_text(f'name = "tiny"\ndata = "{tmp_path / "train.csv"}"\nepochs = 1\nunits = 4\n'
                                        'embed_dim = 4\nmax_length = 12\nbatch_size = 8\n')
    done = run_script("benchmarks/workloads.py", "--dataset", "trec", "--recipe", str(tmp_path / "tiny.toml"),
                      "--test-data", str(tmp_path / "test.csv"), "--models", "tfidf", "nb-lr", "lstm-tuned",
                      "--tuned-units", "6", "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work"),
                      "--inference-texts", "10", "--latency-calls", "3", "--warmup-calls", "1")
    assert done.returncode == 0, done.stderr.decode()
    results = json.loads((tmp_path / "out" / "workloads_trec.json").read_text())
    assert [m["name"] for m in results["models"]] == ["tfidf", "nb-lr", "lstm-tuned"]
    assert (results["train_texts"], results["test_texts"], results["classes"]) == (36, 12, 3)
    train, test = rows(12), rows(4)
    classes = sorted(words)
    tfidf = make_pipeline(TfidfVectorizer(**imdb.TFIDF), LogisticRegression(**imdb.LOGISTIC))
    tfidf.fit([t for t, _ in train], [classes.index(c) for _, c in train])
    want = np.mean(tfidf.predict([t for t, _ in test]) == [classes.index(c) for _, c in test])
    assert results["models"][0]["test_accuracy"] == pytest.approx(want)
    metrics = json.loads((tmp_path / "work" / "trec" / "lstm-tuned" / "metrics_test.json").read_text())
    assert results["models"][2]["test_accuracy"] == metrics["accuracy"] and results["models"][2]["epochs"] == 1
    saved = json.loads((tmp_path / "work" / "trec" / "lstm-tuned" / "config.json").read_text())
    assert saved["hyperparameters"]["units"] == 6
    # Embedding (V x 4), the LSTM (4 * 6 * (4 + 6 + 1)), the head (6 x 3 + 3): counted by hand.
    assert results["models"][2]["parameters"] == saved["parameters"] == saved["vocabulary_size"] * 4 + 264 + 21
    for entry in results["models"]:
        assert 0 <= entry["macro_f1"] <= 1 and entry["throughput_reviews_per_s"] > 0
        assert entry["latency_ms"]["calls"] == 3
    assert "| ours: LSTM, units chosen by tune |" in (tmp_path / "out" / "workloads_trec.md").read_text()


def test_the_workloads_entries_set_their_flags_beside_the_recipe():
    from benchmarks import workloads

    args = workloads.make_parser().parse_args(["--dataset", "imdb", "--tuned-units", "32"])
    assert workloads.entry_flags("transformer", {}, args) == ["--cell", "transformer", "--no-bidirectional",
                                                              "--pooling", "mean"]
    assert workloads.entry_flags("transformer", {"pooling": "max"}, args)[-1] == "--no-bidirectional"
    assert workloads.entry_flags("lstm-tuned", {}, args) == ["--units", "32"]
    assert workloads.entry_flags("lstm-attention", {}, args) == ["--pooling", "attention"]


def test_attention_agreement_ranks_by_hand():
    """`attention_agreement.agreement`: attention ranked as |IG| is rho 1 against |IG|, its
    top word is among IG's top 3; ranked against IG's sign, rho(a, IG) is -1."""
    from benchmarks import attention_agreement

    rng = np.random.default_rng(0)
    ig = np.array([0.5, -2.0, 0.1, 1.0, -0.05])
    by_size, _, _, hit, chance = attention_agreement.agreement(np.abs(ig) / np.abs(ig).sum(), ig, rng)
    assert by_size == pytest.approx(1.0) and hit and chance == pytest.approx(3 / 5)
    assert attention_agreement.agreement(-ig, ig, rng)[1] == pytest.approx(-1.0)
    assert not attention_agreement.agreement([0.1, 0.0, 0.9, 0.0, 0.0], ig, rng)[3]  # word 2: IG's 4th


def test_recipe_time_gives_medians_and_their_ratios_to_the_first_recipe():
    from benchmarks import recipe_time

    plain = recipe_time.summary([{"wall_s": 90, "cpu_s": 100}, {"wall_s": 70, "cpu_s": 80},
                                 {"wall_s": 80, "cpu_s": 90}], None)
    assert plain == {"median_wall_s": 80, "median_cpu_s": 90, "wall_ratio": 1.0, "cpu_ratio": 1.0}
    default = recipe_time.summary([{"wall_s": 150, "cpu_s": 160}, {"wall_s": 200, "cpu_s": 170}], plain)
    assert default["median_wall_s"] == 175 and default["wall_ratio"] == pytest.approx(175 / 80)
    assert default["cpu_ratio"] == pytest.approx(165 / 90)
    results = {"command": "python benchmarks/recipe_time.py", "environment": environment.describe(),
               "recipes": {"plain": {**plain, "test_accuracy": 0.8448, "runs": [{"wall_s": 80, "cpu_s": 90, "epochs": 3}]},
                           "default": {**default, "test_accuracy": 0.9025,
                                       "runs": [{"wall_s": 150, "cpu_s": 160, "epochs": 3},
                                                {"wall_s": 200, "cpu_s": 170, "epochs": 3}]}}}
    row = next(line for line in recipe_time.markdown(results).splitlines() if line.startswith("| `default`"))
    assert row == "| `default` | 90.25% | 3 | 150.0, 200.0 | 160.0, 170.0 | 175.0 s | 165.0 s | 2.19× / 1.83× |"


def test_teacher_speed_times_both_featurizers_and_the_three_arms(tmp_path):
    from benchmarks import teacher_speed

    sentences = ["A fine film.", "The plot is dull.", "Great acting!", "A weak ending.", "I loved the score."]
    files = {("train", label, f"{k}_{7 if label == 'pos' else 2}.txt"):
             " ".join(sentences[k % 5:] + sentences[:k % 5]).encode() for k in range(12) for label in ("pos", "neg")}
    files.update({("test", "pos", "0_9.txt"): b"Fine.", ("test", "neg", "0_1.txt"): b"Dull."})
    folder = write_imdb_folder(tmp_path, files)
    out = tmp_path / "speed.json"
    teacher_speed.main(["--rounds", "1", "--data", str(folder), "--out", str(out)])
    results = json.loads(out.read_text())
    assert set(results["features"]) == {"CountVectorizer", "BagOfNgrams"}
    assert all(len(seconds) == 1 for seconds in results["features"].values())
    assert set(results["preparation"]) == set(teacher_speed.ARMS)
    assert all(whole >= rest > 0 for (whole, rest), in results["preparation"].values())
    assert "| teacher in a second process |" in (tmp_path / "speed.md").read_text()
