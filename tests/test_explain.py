"""explain: Integrated Gradients against closed forms and completeness, occlusion against
a leave-one-out by hand, the step-by-step curve against the model, the words as typed,
bad input, and the `explain` command and its page."""
import json
import shutil
import subprocess

import keras
import numpy as np
import pytest

from script_runner import run_script
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import sources
from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS
from sentiment_lstm.explain import attributions, page
from sentiment_lstm.inference import classify
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.text import pipeline, tokenizer

TEXTS = ["a good good film", "a bad bad film", "good acting, great plot", "bad plot, bad acting!",
         "not good at all", "not bad", "superb!", "dull and awful", "great great fun", "awful dull plot"]
REVIEW = "<b>Not</b> GOOD, bad film at all! Don’t go"


@pytest.fixture(scope="module")
def vectorizer():
    return tokenizer.make_vectorizer(TEXTS, max_tokens=30)


TOPICS = ("sport", "science", "music", "politics")  # the classes of the N-class tests


def classifier_of(vectorizer, serve_length=None, labels=LABELS, **settings):
    """An untrained (seeded) classifier of `Config(**settings)` over `vectorizer`, with
    one output per class of `labels`."""
    keras.utils.set_random_seed(0)
    config = Config(units=4, embed_dim=8, dense_dropout=0.0, embedding_dropout=0.0, **settings)
    tokens = tokenizer.tokenize(TEXTS, vectorizer, 100)
    keys = {order: ngrams.frequent(tokens, vectorizer.vocabulary_size(), min_count=1, order=order)
            for order in network.ngram_dims(config)}
    token_model = network.build_token_model(vectorizer.vocabulary_size(), config, keys, num_classes=len(labels))
    for weight in token_model.weights:  # untrained: scale up so the model is far from linear
        if weight.dtype != "int64" and "bias" not in weight.path:
            weight.assign(weight.numpy() * 3 + (weight.numpy() == 0) * 0.5)
    return classify.Classifier(network.build_end_to_end(token_model, vectorizer, serve_length), labels, config)


def token_ids(classifier, review):
    token_model, vectorizer = network.parts(classifier.model)
    ids = keras.ops.convert_to_numpy(vectorizer(np.array([review])))[0]
    return token_model, ids[ids != 0]


def test_integrated_gradients_equal_input_times_weight_on_a_linear_model(vectorizer):
    """A simple RNN with the identity for tanh, with a linear n-gram branch: the log-odds
    are linear in the step inputs, so IG of step t is exactly x_t . W_x W_h^(T-1-t) d
    plus the linear branch's weights of the step, d the Dense layer's two columns' difference."""
    classifier = classifier_of(vectorizer, cell="rnn", bigram_dim=3, linear_ngrams=True)
    token_model = network.parts(classifier.model)[0]
    layer = token_model.get_layer("recurrent_0")
    layer.cell.activation = keras.activations.linear
    for table in ("word_weights", "bigram_weights"):  # the linear branch starts at 0; give it weights
        weights = token_model.get_layer(table).embeddings
        weights.assign(np.random.default_rng(1).normal(size=weights.shape).astype("float32"))
    result = attributions.explain(classifier, REVIEW, steps=3)
    j = LABELS.index(result["label"])
    _, ids = token_ids(classifier, REVIEW)
    x = keras.ops.convert_to_numpy(attributions.explainer(classifier).inputs(ids[None]))[0].astype(np.float64)
    kernel, recurrent, _ = (w.astype(np.float64) for w in layer.get_weights())
    dense = token_model.get_layer("recurrent_scores").get_weights()[0].astype(np.float64)
    d = dense[:, j] - dense[:, 1 - j]
    linear = sum(keras.ops.convert_to_numpy(token_model.get_layer(t)(ids[None]))[0]
                 for t in ("word_weights", "bigram_weights"))
    T = len(ids)
    expected = [x[t] @ kernel @ np.linalg.matrix_power(recurrent, T - 1 - t) @ d + linear[t, j] - linear[t, 1 - j]
                for t in range(T)]
    np.testing.assert_allclose(result["attributions"], expected, rtol=1e-4, atol=1e-5)
    assert page.relative_gap(result) < 1e-5, (result["completeness_gap"], result["log_odds"])


def test_completeness_on_a_trained_model(vectorizer):
    classifier = classifier_of(vectorizer, bigram_dim=4)
    token_model, _ = network.parts(classifier.model)
    labels = np.array([1, 0, 1, 0, 0, 1, 1, 0, 1, 0])
    tokens = tokenizer.tokenize(TEXTS, vectorizer, 100).to_tensor()
    token_model.fit(tokens, np.eye(2)[labels], epochs=60, verbose=0)
    assert (token_model.predict(tokens, verbose=0).argmax(1) == labels).mean() >= 0.9  # it has learned
    for review in TEXTS + [REVIEW, "great fun, not dull at all"]:
        result = attributions.explain(classifier, review)
        assert page.relative_gap(result) < 0.01, (review, result["completeness_gap"])
        assert sum(result["attributions"]) == pytest.approx(result["log_odds"] - result["baseline_log_odds"],
                                                            abs=abs(result["completeness_gap"]) + 1e-9)


def test_completeness_on_real_reviews(real_archive):
    """A small model trained one epoch on 2,000 real reviews; IG at the default steps on
    real held-out reviews: the gap is below 1% of F(x) - F(baseline)."""
    train, validation = sources.training_data(Config(data=str(real_archive), limit=2000, seed=0))
    vectorizer = tokenizer.make_vectorizer(train.texts, max_tokens=5000)
    config = Config(units=16, embed_dim=32, trigram_dim=8)
    keys = {3: ngrams.frequent(tokenizer.tokenize(train.texts, vectorizer, 200), vectorizer.vocabulary_size(), order=3)}
    token_model = network.build_token_model(vectorizer.vocabulary_size(), config, keys)
    token_model.fit(pipeline.make_dataset(train, vectorizer, max_length=200, shuffle=True), epochs=2, verbose=0)
    classifier = classify.Classifier(network.build_end_to_end(token_model, vectorizer, 200), LABELS, config)
    gaps = [page.relative_gap(attributions.explain(classifier, review, gates=False))
            for review in validation.texts[:8]]
    assert max(gaps) < 0.01, gaps


def test_two_classes_the_other_target_is_the_same_explanation_negated(vectorizer):
    """With two classes log-odds(other) = -log-odds(predicted), and IG is linear in F."""
    classifier = classifier_of(vectorizer, bigram_dim=3, linear_ngrams=True)
    weights = network.parts(classifier.model)[0].get_layer("word_weights").embeddings
    weights.assign(np.random.default_rng(2).normal(size=weights.shape).astype("float32"))
    default = attributions.explain(classifier, REVIEW, steps=8)
    other = next(label for label in LABELS if label != default["label"])
    flipped = attributions.explain(classifier, REVIEW, steps=8, target=other)
    assert default["target"] == default["label"] == flipped["label"] and flipped["target"] == other
    assert default["runner_up"] == other and flipped["runner_up"] == default["label"]
    np.testing.assert_allclose(flipped["attributions"], -np.asarray(default["attributions"]), atol=1e-5)
    assert flipped["log_odds"] == pytest.approx(-default["log_odds"], abs=1e-5)
    assert flipped["trajectory"] == default["trajectory"]  # p(positive) whichever class is explained
    np.testing.assert_allclose(np.asarray(flipped["occlusion"]), -np.asarray(default["occlusion"]), atol=1e-6)


@pytest.mark.parametrize("settings", [{"bigram_dim": 3}, {"cell": "gru", "linear_ngrams": True, "trigram_dim": 3},
                                      {"pooling": "attention"},
                                      {"cell": "transformer", "pooling": "attention", "bigram_dim": 2},
                                      {"linear_ngrams": True, "linear_once": True, "bigram_dim": 3,
                                       "text": "Bad film, bad bad film at all"}])
def test_n_classes_every_target_is_complete_and_its_log_odds_are_against_the_rest(vectorizer, settings):
    """Four classes: for each target k, F(x) = log p_k - log(1 - p_k) of the served
    probabilities, the attributions sum to F(x) - F(baseline) (gap < 0.5%), occlusion
    is p_k's leave-one-out by hand, and the curves are every class's p of each prefix
    (with `--linear-once`, on a text that repeats words and a bigram)."""
    settings = dict(settings)
    text = settings.pop("text", REVIEW)
    classifier = classifier_of(vectorizer, labels=TOPICS, **settings)
    token_model, ids = token_ids(classifier, text)
    if settings.get("linear_ngrams"):  # the linear branch starts at 0; give it weights
        weights = token_model.get_layer("word_weights").embeddings
        weights.assign(np.random.default_rng(3).normal(size=weights.shape).astype("float32"))
    if settings.get("linear_once"):  # and its bigrams, which the text repeats, smaller ones (p stays off 0 and 1)
        weights = token_model.get_layer("bigram_weights").embeddings
        weights.assign(np.random.default_rng(4).normal(scale=0.3, size=weights.shape).astype("float32"))
    p = classifier.predict_proba([text])[0].astype(np.float64)
    prefixes = np.concatenate([token_model.predict(ids[None, :t], verbose=0) for t in range(1, len(ids) + 1)])
    changed = np.repeat(ids[None], len(ids), axis=0)
    np.fill_diagonal(changed, 1)
    occluded = token_model.predict(changed, verbose=0)
    for k, target in enumerate(TOPICS):
        result = attributions.explain(classifier, text, steps=64, target=target)
        assert result["target"] == target and result["label"] == TOPICS[int(p.argmax())]
        assert result["log_odds"] == pytest.approx(np.log(p[k]) - np.log(1 - p[k]), abs=1e-4)
        assert page.relative_gap(result) < 0.005, (target, result["completeness_gap"], result["log_odds"])
        np.testing.assert_allclose(result["occlusion"], p[k] - occluded[:, k], atol=1e-5)
        assert list(result["trajectories"]) == list(TOPICS)
        np.testing.assert_allclose([result["trajectories"][c] for c in TOPICS], prefixes.T, atol=1e-5)
        assert result["trajectory"] == result["trajectories"][target]
        rest = [c for c in TOPICS if c != target]
        assert result["runner_up"] == max(rest, key=lambda c: result["probabilities"][c])
    assert np.ptp([p[k] for k in range(len(TOPICS))]) > 1e-3  # the classes differ


def test_an_unknown_target_is_one_sentence_naming_the_classes(vectorizer):
    with pytest.raises(UserError, match="There is no class 'cooking' to explain; the model's classes are "
                                        "sport, science, music, politics."):
        attributions.explain(classifier_of(vectorizer, labels=TOPICS), "good", target="cooking")


def test_occlusion_is_leave_one_out_by_hand(vectorizer):
    classifier = classifier_of(vectorizer, cell="gru", bigram_dim=3, trigram_dim=3)
    result = attributions.explain(classifier, REVIEW, steps=2)
    token_model, ids = token_ids(classifier, REVIEW)
    j = LABELS.index(result["label"])
    p = token_model.predict(ids[None], verbose=0)[0, j]
    expected = []
    for t in range(len(ids)):
        changed = ids.copy()
        changed[t] = 1
        expected.append(p - token_model.predict(changed[None], verbose=0)[0, j])
    np.testing.assert_allclose(result["occlusion"], expected, atol=1e-5)
    assert np.abs(expected).max() > 1e-3  # the words matter to this model


CURVE_CASES = {  # name -> (serve length, Config settings)
    "lstm clipped": (6, {}),
    "lstm n-grams whole": (None, {"bigram_dim": 3, "trigram_dim": 3}),
    "gru whole": (None, {"cell": "gru"}),
    "gru n-grams clipped": (6, {"cell": "gru", "bigram_dim": 3}),
    "rnn clipped": (6, {"cell": "rnn"}),
    "rnn n-grams whole": (None, {"cell": "rnn", "trigram_dim": 3}),
    "keras-lstm n-grams": (None, {"cell": "keras-lstm", "bigram_dim": 3}),
    "stacked max-mean pooling, linear n-grams": (None, {"layers": 2, "pooling": "max-mean", "bigram_dim": 3,
                                                        "linear_ngrams": True}),
    "bidirectional mean pooling": (6, {"bidirectional": True, "pooling": "mean"}),
    "attention pooling": (None, {"pooling": "attention", "bigram_dim": 3}),
    "gru attention pooling clipped": (6, {"cell": "gru", "pooling": "attention"}),
    "bidirectional attention pooling": (None, {"bidirectional": True, "pooling": "attention"}),
    "transformer mean pooling": (None, {"cell": "transformer", "pooling": "mean"}),
    "transformer attention pooling clipped, 2 blocks": (6, {"cell": "transformer", "pooling": "attention",
                                                            "layers": 2, "bigram_dim": 2}),
}


@pytest.mark.parametrize("case", CURVE_CASES)
def test_the_curve_is_the_model_read_word_by_word(vectorizer, case):
    """Each value of the trajectory is the model's p(positive) of that prefix of the
    review; the last is its prediction (1e-5); the prediction is `predict`'s."""
    serve_length, settings = CURVE_CASES[case]
    classifier = classifier_of(vectorizer, serve_length, **settings)
    result = attributions.explain(classifier, REVIEW, steps=4)
    probabilities = classifier.predict_proba([REVIEW])[0]
    positive = LABELS.index("positive")
    assert result["trajectory"][-1] == pytest.approx(float(probabilities[positive]), abs=1e-5)
    predicted = classifier.predict([REVIEW])[0]  # also says how many known words it read
    assert result["label"] == predicted["label"] and result["score"] == pytest.approx(predicted["score"], abs=1e-6)
    token_model, ids = token_ids(classifier, REVIEW)
    read = ids[:serve_length]
    prefixes = [token_model.predict(read[None, :t], verbose=0)[0, positive] for t in range(1, len(read) + 1)]
    np.testing.assert_allclose(result["trajectory"], prefixes, atol=1e-5)
    assert result["read_count"] == len(read) and sum(result["read"]) == len(read)
    if settings.get("cell") == "keras-lstm":
        assert result["gates"] == {} and "does not expose its gates" in result["notes"][0]
    elif settings.get("cell") == "transformer":
        assert result["gates"] == {} and "has no gates" in result["notes"][0]
        assert len(result["state_norm"]) == len(read) and result["cell_norm"] is None
    else:
        gates = {"gru": ["z", "r"], "rnn": []}.get(settings.get("cell"), ["i", "f", "o"])
        assert list(result["gates"]) == gates
        for gate in gates:
            means = result["gates"][gate]
            assert len(means) == len(read) and all(0 < m < 1 for m in means)
            assert np.mean(result["gate_units"][gate], axis=1) == pytest.approx(means, abs=1e-4)
        assert (result["cell_norm"] is not None) == (gates == ["i", "f", "o"])
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize("settings", [{}, {"cell": "transformer", "layers": 2}, {"bidirectional": True}])
def test_attention_weights_are_the_pooling_s_by_hand(vectorizer, settings):
    """`--pooling attention`: the explanation's weights are softmax(q . tanh(W h_t + b)) over
    the read words, h_t the last sequence layer's outputs (1e-5); they sum to 1, unread
    words get 0, and the text vector they weigh gives the model's prediction."""
    classifier = classifier_of(vectorizer, 6, pooling="attention", **settings)
    pool = network.parts(classifier.model)[0].get_layer("attention_pool")
    rng = np.random.default_rng(5)  # weights that tell the words apart, tanh not saturated
    for weight, scale in ((pool.W, 0.3), (pool.b, 0.0), (pool.q, 3.0)):
        weight.assign((rng.normal(size=weight.shape) * scale).astype("float32"))
    result = attributions.explain(classifier, REVIEW, steps=2)
    assert "attention" not in attributions.explain(classifier_of(vectorizer, 6), REVIEW, steps=2)
    token_model, ids = token_ids(classifier, REVIEW)
    read = ids[:6]
    last = {"transformer": "encoder_1"}.get(settings.get("cell"),
                                            "bidirectional_0" if settings.get("bidirectional") else "recurrent_0")
    h = keras.Model(token_model.inputs[0], token_model.get_layer(last).output)(read[None])  # its outputs
    h = keras.ops.convert_to_numpy(h)[0].astype(np.float64)  # (time, features)
    W, b, q = (np.asarray(v, np.float64) for v in (pool.W, pool.b, pool.q))
    e = np.tanh(h @ W + b) @ q
    a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
    np.testing.assert_allclose(result["attention"][:6], a, atol=1e-5)
    assert sum(result["attention"]) == pytest.approx(1.0, abs=1e-5)
    assert result["attention"][6:] == [0.0] * (len(result["tokens"]) - 6) and len(result["tokens"]) > 6
    dense = token_model.get_layer("probabilities")
    scores = (a @ h) @ np.asarray(dense.kernel, np.float64) + np.asarray(dense.bias, np.float64)
    np.testing.assert_allclose(attributions.softmax(scores[None])[0], list(result["probabilities"].values()),
                               atol=1e-5)
    assert np.ptp(a) > 1e-3  # the weights differ between words
    assert "attention 0" in page.render([REVIEW], [result]) and 'class="bar attention"' in page.render([REVIEW],
                                                                                                          [result])


def test_words_come_back_as_typed_and_the_unread_tail_is_marked(vectorizer):
    classifier = classifier_of(vectorizer, serve_length=6)
    review = "<br />It’s GOOD!! <i>Naïve</i>, 'rock'n'roll' café — 7/10? Don't go."
    result = attributions.explain(classifier, review, steps=2)
    assert result["tokens"] == ["It’s", "GOOD", "!", "!", "Naïve", "rock'n'roll", "café", "7", "10", "?",
                                "Don't", "go"]
    assert [review[a:b] for a, b in result["offsets"]] == result["tokens"]
    assert result["read"] == [True] * 6 + [False] * 6 and result["read_count"] == 6
    assert len(result["trajectory"]) == 6 and len(result["gates"]["f"]) == 6
    assert result["attributions"][6:] == [0.0] * 6 and result["occlusion"][6:] == [0.0] * 6
    assert len(result["attributions"]) == len(result["occlusion"]) == 12


@pytest.mark.parametrize("review", ["", "   \n\t "])
def test_an_empty_review_has_an_empty_explanation(vectorizer, review):
    classifier = classifier_of(vectorizer, bigram_dim=3)
    result = attributions.explain(classifier, review)
    assert result["tokens"] == result["attributions"] == result["occlusion"] == result["trajectory"] == []
    assert result["read_count"] == 0 and result["completeness_gap"] == 0.0
    assert result["label"] == classifier.predict([review])[0]["label"]
    assert result["gates"] == {"i": [], "f": [], "o": []}
    json.dumps(result, allow_nan=False)


def test_a_huge_review_is_explained_as_far_as_the_model_reads_it(vectorizer):
    huge = "good film, bad plot! " * 50_000  # about 1 MB, 250,000 words
    clipped = attributions.explain(classifier_of(vectorizer, serve_length=8), huge, steps=2, gates=False)
    assert clipped["read_count"] == 8 and len(clipped["tokens"]) == 250_000 and sum(clipped["read"]) == 8
    with pytest.raises(UserError, match="more than the 5,000 an explanation covers"):
        attributions.explain(classifier_of(vectorizer), huge)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_bad_steps_are_one_sentence(vectorizer, steps):
    with pytest.raises(UserError, match="The number of integration steps must be (a whole number of )?at least 1"):
        attributions.explain(classifier_of(vectorizer), "good", steps=steps)


@pytest.fixture(scope="module")
def model_dir(vectorizer, tmp_path_factory):
    """A model directory as `classify.load` reads it, of a tiny clipped LSTM with bigrams."""
    classifier = classifier_of(vectorizer, serve_length=6, bigram_dim=3)
    directory = tmp_path_factory.mktemp("model")
    classifier.model.save(directory / "model.keras")
    (directory / "config.json").write_text(classifier.config.to_json(labels=list(LABELS)))
    return directory


def test_the_command_prints_json_and_a_self_contained_page(model_dir, tmp_path):
    reviews = tmp_path / "reviews.txt"
    reviews.write_bytes(b"Bad\xff\xfe plot, GOOD acting!\n\nnot good at all, not good at all\n")
    page = tmp_path / "out" / "why.html"
    page.parent.mkdir()
    done = run_script("explain.py", "--model-dir", str(model_dir), "--file", str(reviews), "--json",
                      "--html", str(page), "--steps", "8")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    results = [json.loads(line) for line in lines]
    assert len(results) == 3
    assert results[0]["tokens"] == ["Bad", "plot", "GOOD", "acting", "!"]  # the invalid bytes become separators
    assert results[1]["tokens"] == [] and results[2]["read"] == [True] * 6 + [False] * 2
    for result in results:
        assert {"label", "score", "tokens", "read", "attributions", "occlusion", "trajectory", "log_odds",
                "baseline_log_odds", "completeness_gap", "gates", "steps"} <= set(result)
        assert result["steps"] == 8
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert html.count('<span class="w" style="background:rgb(') == 5 + 6
    assert ">GOOD</span>" in html and ">acting</span>" in html and 'class="unread"' in html
    assert "data:image/png;base64," in html and "<svg" in html
    assert list(page.parent.iterdir()) == [page]  # written in one step, nothing left beside it
    summary = run_script("explain.py", "--model-dir", str(model_dir), "not good at all")
    assert summary.returncode == 0 and "for it:" in summary.stdout.decode() and "against it:" in summary.stdout.decode()


def test_the_page_renders_in_a_headless_browser(model_dir, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on this machine")
    page = tmp_path / "why.html"
    done = run_script("explain.py", "--model-dir", str(model_dir), "GOOD film, bad plot!", "--html", str(page))
    assert done.returncode == 0, done.stderr.decode()
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, timeout=120).stdout.decode()
    assert dom.count('class="w"') == 5 and "<polyline" in dom and "p(positive) after each word" in dom


def test_the_command_explains_the_class_asked_for_and_its_page_draws_it(vectorizer, tmp_path):
    """Four classes: `--target music` explains music (JSON), the page colours towards
    music and draws p(music) with the runner-up's curve; an unknown class is one sentence."""
    classifier = classifier_of(vectorizer, labels=TOPICS, bigram_dim=3)
    directory = tmp_path / "topics"
    directory.mkdir()
    classifier.model.save(directory / "model.keras")
    (directory / "config.json").write_text(classifier.config.to_json(labels=list(TOPICS)))
    html = tmp_path / "why.html"
    done = run_script("explain.py", "--model-dir", str(directory), "GOOD film, bad plot!", "--target", "music",
                      "--json", "--html", str(html), "--steps", "16")
    assert done.returncode == 0, done.stderr.decode()
    (result,) = [json.loads(line) for line in done.stdout.decode().splitlines()]
    want = attributions.explain(classifier, "GOOD film, bad plot!", steps=16, target="music")
    assert result["target"] == "music" and result["attributions"] == pytest.approx(want["attributions"], abs=1e-5)
    page_text = html.read_text(encoding="utf-8")
    assert "+" in page_text and "towards music</span>" in page_text and "towards against music" in page_text
    runner_up = result["runner_up"]
    assert f"p(music) and, dashed, p({runner_up}) after each word" in page_text
    assert page_text.count("<polyline") == 2 and 'stroke-dasharray="6 3"' in page_text
    wrong = run_script("explain.py", "--model-dir", str(directory), "good", "--target", "cooking")
    assert wrong.returncode == 2 and wrong.stderr.decode() == (
        "error: --target 'cooking' is not a class of this model; its classes are "
        "sport, science, music, politics\n")


@pytest.mark.parametrize("args, status, message", [
    (["--steps", "0", "good"], 2, "error: argument --steps: must be at least 1, not 0"),
    (["--model-dir", "no/such/model", "good"], 1, "error: There is no model directory no/such/model"),
    (["--model-dir", "{corrupt}", "good"], 1, "error: {corrupt}/model.keras is corrupt"),
    ([], 2, "error: give texts to explain"),
])
def test_command_mistakes_are_one_sentence(tmp_path, args, status, message):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text(Config().to_json(labels=list(LABELS)))
    (corrupt / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    done = run_script("explain.py", *(a.format(corrupt=corrupt) for a in args))
    stderr = done.stderr.decode()
    assert done.returncode == status and stderr.startswith(message.format(corrupt=corrupt)), stderr
    assert stderr.count("\n") == 1 and done.stdout == b""


def test_the_faithfulness_benchmark_scores_by_hand(vectorizer):
    """benchmarks/explanations.py: comprehensiveness and sufficiency are the predicted
    class's probability less that of the review without / with only its top words, and
    a curve's largest jump is matched against the words of largest |attribution|."""
    from benchmarks import explanations

    classifier = classifier_of(vectorizer, bigram_dim=3)
    review = "not good at all, a bad bad film but great acting"
    result = attributions.explain(classifier, review, steps=8)
    token_model, ids = token_ids(classifier, review)
    j = LABELS.index(result["label"])
    order = np.argsort(-np.asarray(result["attributions"]), kind="stable")
    scores = explanations.eraser(attributions.explainer(classifier), ids, j, result["score"], {"ig": order})
    comprehensiveness, sufficiency = scores["ig"]
    n = len(ids)
    for k, fraction in enumerate(explanations.FRACTIONS):
        top = np.zeros(n, bool)
        top[order[:max(1, int(np.ceil(fraction * n)))]] = True
        without = token_model.predict(ids[~top][None], verbose=0)[0, j]
        alone = token_model.predict(ids[top][None], verbose=0)[0, j]
        assert comprehensiveness[k] == pytest.approx(result["score"] - without, abs=1e-5)
        assert sufficiency[k] == pytest.approx(result["score"] - alone, abs=1e-5)
    made_up = {"read_count": 6, "trajectory": [0.5, 0.52, 0.9, 0.88, 0.3, 0.31],
               "attributions": [0.0, 0.1, 2.0, 0.0, -0.5, 0.0], "occlusion": [0.0, 0.0, 0.0, 0.0, 0.4, 0.0]}
    hits = explanations.jump_hits(made_up, start=0.5)
    assert hits[1] == (0.0, 1.0, 1 / 6)  # the largest jump, 0.88 -> 0.3, is at word 4: occlusion's top, not IG's
    assert hits[3] == (1.0, 2 / 3, 3 / 6)  # jumps at words 4, 2, 1 (ties: the first); IG's top 2, 4, 1; occlusion's 4, 0, 1
