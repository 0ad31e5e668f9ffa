"""The benchmarks: tables, percentiles, results schema, TF-IDF, PyTorch skip, and tiny
runs of the scripts.

Nothing here trains a real model on real data: results dicts, corpora and folders
are made up by the tests.
"""
import json
import runpy
import shlex
import sys

import numpy as np
import pytest
from conftest import TINY_IMDB, write_imdb_folder
from script_runner import REPO, run_script

from benchmarks import environment, epoch_speed, imdb, torch_lstm
from sentiment_lstm.config import Config
from sentiment_lstm.errors import UserError

SETTINGS = {
    "quick": False, "limit": None, "test_limit": None, "epochs": None,
    "best_flags": "--units 128 --bidirectional", "best_flags_tokens": ["--units", "128", "--bidirectional"],
    "data": None, "models": list(imdb.ENTRIES), "inference_reviews": 2000, "inference_batch": 256,
    "latency_calls": 200, "warmup_calls": 20, "keep_models": False,
    "command": "python benchmarks/imdb.py", "out_dir": "benchmarks", "work_dir": "benchmarks/out/imdb",
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


def test_results_json_schema_and_best_command_reproduces_flags():
    settings = {**SETTINGS, "data": "../shared/data/aclImdb_v1.tar.gz", "epochs": 3}
    results = imdb.assemble([*MODELS[:4], best_entry(settings)], settings, ENVIRONMENT)
    json.dumps(results)  # serialisable
    best = results["best_custom_lstm"]
    assert {"test_accuracy", "train_seconds", "command"} <= set(best)
    assert (best["test_accuracy"], best["train_seconds"]) == (0.88, 500.0)
    for key in ("commit", "date", "cores", "versions"):
        assert results[key] is not None
    assert results["cores"] == 2 and "best_flags_tokens" not in results["settings"]

    train_part, evaluate_part = best["command"].split(" && ")
    _, script, *flags = shlex.split(train_part)
    assert script == "train.py"
    assert flags[-2:] == ["--model-dir", "benchmarks/out/imdb/best"]
    reproduced, _ = imdb.parse_train_flags(flags)
    assert reproduced == Config(units=128, bidirectional=True, epochs=3,
                                data="../shared/data/aclImdb_v1.tar.gz",
                                model_dir="benchmarks/out/imdb/best")
    assert shlex.split(evaluate_part)[1:4] == ["evaluate.py", "--model-dir", "benchmarks/out/imdb/best"]

    report = imdb.markdown_report(results)
    assert imdb.markdown_table(results["models"]) in report
    assert "Is the LSTM better than the simple RNN and the GRU here" in report


def test_data_line_names_the_best_recipes_own_split():
    def line(best_flags):
        return imdb.describe_data({**SETTINGS, "limit": None, "test_limit": None, "epochs": None,
                                   "best_flags": best_flags})

    assert "the best recipe" not in line("--units 128")
    assert "the best recipe: all, its epochs fixed by --epochs, no early stopping" in line("--val-fraction 0 --epochs 7")
    assert "the best recipe: 80% train, 20% validation" in line("--val-fraction 0.2")


def test_results_without_best_entry_say_so():
    assert imdb.assemble(MODELS[:2], SETTINGS, ENVIRONMENT)["best_custom_lstm"] is None


def test_best_flags_reuse_the_lstm_run_only_when_settings_match():
    lstm = entry("lstm", 0.87, 450.0, 6, 1650.0, 620.0, 700.0, 5.0, 9.0)
    default = {**SETTINGS, "best_flags": "", "best_flags_tokens": []}
    assert imdb.reusable_twin("best", default, [lstm]) is lstm
    assert imdb.reusable_twin("best", SETTINGS, [lstm]) is None
    assert imdb.reusable_twin("gru", default, [lstm]) is None


@pytest.mark.parametrize("text, message", [
    ("--units 0", "--best-flags: argument --units: must be at least 1, not 0."),
    ("--bogus", "--best-flags: unrecognized arguments: --bogus."),
    ("--model-dir x --limit 5", "--best-flags must not set --model-dir, --limit"),
    ("--cell gru", "--best-flags must keep --cell lstm"),
    ("--units '12", "--best-flags cannot be split into flags"),
    ("--jit-compile", "--best-flags: --jit-compile needs --no-deterministic"),
])
def test_bad_best_flags_are_one_sentence(text, message):
    with pytest.raises(UserError) as error:
        imdb.best_flag_tokens(text)
    assert str(error.value).startswith(message)
    assert imdb.best_flag_tokens("--units 96 --no-bucket") == ["--units", "96", "--no-bucket"]


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
    from sentiment_lstm import teacher

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
    assert "PyTorch is not installed" in reason and "benchmarks/requirements.txt" in reason
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
    torch = pytest.importorskip("torch", reason="PyTorch is optional (benchmarks/requirements.txt)")
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


def test_peak_rss_tracks_a_block():
    with epoch_speed.PeakRSS() as rss:
        block = bytearray(64 * 2**20)
        block[::4096] = b"1" * len(block[::4096])
    del block
    assert rss.peak_mib > 64


@pytest.mark.parametrize("script, args, status, message", [
    ("imdb.py", ["--best-flags", "--units 0"], 2,
     "error: --best-flags: argument --units: must be at least 1, not 0."),
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


def test_distillation_prototype_keeps_the_last_tokens_and_crops_runs_of_words():
    from benchmarks import distillation

    padded = np.array([[5, 6, 7, 8, 0], [3, 4, 0, 0, 0], [9, 8, 7, 6, 5]])
    np.testing.assert_array_equal(distillation.clip_last(padded, 3), [[6, 7, 8], [3, 4, 0], [7, 6, 5]])
    np.testing.assert_array_equal(distillation.clip_last(padded, 9), padded)

    words = [f"w{i}" for i in range(20)]
    runs = distillation.crops([" ".join(words)] * 50, 2, seed=0)
    assert len(runs) == 100 and runs == distillation.crops([" ".join(words)] * 50, 2, seed=0)
    for run in runs:
        kept = run.split()
        start = words.index(kept[0])
        assert kept == words[start:start + len(kept)] and 6 <= len(kept) <= 14
    assert len({run for run in runs}) > 10
    assert distillation.crops(["", "  "], 3, seed=0) == []


def test_distillation_nb_channels_are_the_naive_bayes_ratios_of_each_step():
    import tensorflow as tf

    from benchmarks import distillation

    rows = tf.ragged.constant([[2, 3, 4], [2, 3], [5, 3, 4], [5, 4]], dtype=tf.int32)
    unigram, keys, bigram = distillation.nb_ratios(rows, [1, 1, 0, 0], vocabulary_size=6, min_count=2)
    # Rows containing each token: positive 2:2 3:2 4:1, negative 3:1 4:2 5:2; p, q add 1 to each of the 6 ids.
    p, q = 1 + np.array([0, 0, 2, 2, 1, 0]), 1 + np.array([0, 0, 0, 1, 2, 2])
    expected = np.log((p / p.sum()) / (q / q.sum()))
    expected[:2] = 0  # padding and OOV carry no evidence
    np.testing.assert_allclose(unigram, expected, rtol=1e-6)
    # Bigrams in two rows or more: (start, 2) and (2, 3) both positive; (start, 5) both negative; (3, 4) one each.
    # (5, 3) and (5, 4) are in one row each, so dropped; the sums run over the kept bigrams.
    assert [(k // 6, k % 6) for k in keys] == [(0, 2), (0, 5), (2, 3), (3, 4)]
    p, q = 1 + np.array([2, 0, 2, 1]), 1 + np.array([0, 2, 0, 1])
    np.testing.assert_allclose(bigram, np.log((p / p.sum()) / (q / q.sum())), rtol=1e-6)

    steps = distillation.nb_channels(unigram, keys, bigram)(tf.constant([[2, 3, 4, 0], [5, 3, 0, 0]]))
    np.testing.assert_allclose(steps.numpy()[..., 0], unigram[[[2, 3, 4, 0], [5, 3, 0, 0]]])
    np.testing.assert_allclose(steps.numpy()[..., 1], [[bigram[0], bigram[2], bigram[3], 0],
                                                       [bigram[1], 0, 0, 0]], rtol=1e-6)  # (5, 3) is too rare

    # The LSTM reading them stops at each review's end: padding changes nothing.
    from sentiment_lstm import config

    classifier = distillation.with_channels(6, distillation.nb_channels(unigram, keys, bigram),
                                            config.Config(units=4, embed_dim=2))
    np.testing.assert_allclose(classifier(tf.constant([[2, 3, 4]])).numpy(),
                               classifier(tf.constant([[2, 3, 4, 0, 0]])).numpy(), rtol=1e-5)


def test_distillation_adversarial_training_moves_embeddings_along_the_gradient():
    import keras
    import tensorflow as tf

    from benchmarks import distillation
    from sentiment_lstm import model

    gradient = tf.random.stateless_normal((3, 5, 4), seed=(1, 2))
    embeddings = tf.fill((10, 4), 2.0)  # RMS 2
    r = distillation.perturbation(gradient, embeddings, 0.5).numpy()
    np.testing.assert_allclose(np.linalg.norm(r.reshape(3, -1), axis=1), [1.0] * 3, rtol=1e-5)
    np.testing.assert_allclose(r / gradient.numpy(), np.full((3, 5, 4), 1.0) * (r / gradient.numpy())[:, :1, :1],
                               rtol=1e-4)  # each review's step is parallel to its gradient

    cfg = Config(units=4, embed_dim=8, embedding_dropout=0.0, dropout=0.0, dense_dropout=0.0,
                 learning_rate=0.01, steps_per_execution=1)
    tokens = np.array([[3, 4, 5, 0], [6, 7, 0, 0], [8, 9, 3, 4]], dtype="int32")
    targets = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]], dtype="float32")

    def one_step(epsilon):
        keras.utils.set_random_seed(0)
        classifier = model.build_token_model(12, cfg)
        if epsilon is None:  # the plain model on twice its loss: the gradient of clean plus unperturbed loss
            trained = classifier
            trained.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                            loss=lambda y, p: 2 * keras.losses.categorical_crossentropy(y, p))
        else:
            trained = distillation.adversarial(classifier, epsilon, cfg)
        trained.train_on_batch(tokens, targets)
        return classifier.get_weights()

    plain = one_step(None)
    for ours, theirs in zip(one_step(0.0), plain):  # no perturbation: the same step
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert not all(np.allclose(ours, theirs, atol=1e-5) for ours, theirs in zip(one_step(5.0), plain))


def test_lm_pretraining_measures_the_scale_and_common_direction_of_word_vectors():
    from benchmarks import lm_pretraining

    assert lm_pretraining.rms(np.array([[3.0, -4.0], [0.0, 5.0]])) == pytest.approx(np.sqrt(50 / 4))
    same = np.array([[9.0, 9.0], [9.0, 9.0], [1.0, 2.0], [1.0, 2.0]])  # ids 0 and 1 are not words
    assert lm_pretraining.common_share(same) == pytest.approx(1.0)
    opposed = np.array([[9.0, 9.0], [9.0, 9.0], [1.0, 2.0], [-1.0, -2.0], [3.0, 0.0], [-3.0, 0.0]])
    assert lm_pretraining.common_share(opposed) == pytest.approx(0.0)


def test_lazy_adam_benchmark_keeps_every_ngram_of_its_batches():
    import keras

    from benchmarks import lazy_adam
    from sentiment_lstm import ngrams

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


def test_linear_branch_scores_each_branch_of_a_trained_model(imdb_folder, tmp_path):
    """`benchmarks/linear_branch.py`: the two branches' scores sum to the served model's, each scored alone."""
    from benchmarks import linear_branch
    from sentiment_lstm import inference, training

    config = Config(data=str(imdb_folder), val_fraction=0.5, epochs=2, units=2, embed_dim=2, bigram_dim=2,
                    linear_ngrams=True, model_dir=str(tmp_path / "wide"),
                    deterministic=False)  # op determinism is process-wide and would turn XLA off in later tests
    training.train(config)
    classifier = inference.load(tmp_path / "wide")
    texts = ["Great film!", "Dull plot.", ""]
    recurrent, linear = linear_branch.branch_scores(classifier, texts)
    scores = recurrent + linear
    np.testing.assert_allclose(np.exp(scores) / np.exp(scores).sum(1, keepdims=True),
                               classifier.predict_proba(texts), rtol=1e-5)
    assert np.abs(linear).sum() > 0  # trained, no longer all 0

    report = linear_branch.main([str(tmp_path / "wide"), "--data", str(imdb_folder), "--out",
                                 str(tmp_path / "branches.json")])
    assert report["reviews"] == 2  # the validation half of the 4 training reviews
    for key in ("model_accuracy", "recurrent_branch_accuracy", "linear_branch_accuracy", "branches_agree"):
        assert report[key] in (0.0, 0.5, 1.0)
    written = json.loads((tmp_path / "branches.json").read_text())
    assert {key: written[key] for key in report} == report and "commit" in written

    from benchmarks import serving_lengths  # the same held-out reviews, another job: one model, several clips

    by_length = serving_lengths.main([str(tmp_path / "wide"), "--data", str(imdb_folder), "--lengths",
                                      str(config.max_length), "1", "0"])["accuracy_by_length"]
    assert by_length[str(config.max_length)] == report["model_accuracy"]
    assert set(by_length) == {str(config.max_length), "1", "0"} and set(by_length.values()) <= {0.0, 0.5, 1.0}

    training.train(Config(data=str(imdb_folder), val_fraction=0.5, epochs=1, units=2, embed_dim=2,
                          model_dir=str(tmp_path / "narrow"), deterministic=False))
    with pytest.raises(SystemExit, match="not trained with --linear-ngrams"):
        linear_branch.main([str(tmp_path / "narrow"), "--data", str(imdb_folder)])


def test_ngram_stacking_scores_each_model_their_mean_and_their_stack():
    """`benchmarks/ngram_stacking.py`, by hand: four reviews' log-odds, each repeated five times."""
    from benchmarks import ngram_stacking

    lstm = np.tile([3.0, -1.0, 1.0, -2.0], 5)    # right, wrong, wrong, right
    ngram = np.tile([-1.0, 2.0, -2.0, -1.0], 5)  # wrong, right, right, right
    y = np.tile([1, 1, 0, 0], 5)
    assert ngram_stacking.combine(lstm, ngram, y) == {
        "lstm_val_accuracy": 0.5,
        "averaged_val_accuracy": 1.0,  # the means 1, 0.5, -0.5, -1.5: all right
        "agreement_with_nb_lr": 0.25,  # only the last review
        "stacked_val_accuracy_cv5": 1.0,  # each fold's logistic regression separates the four (by hand)
    }


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
