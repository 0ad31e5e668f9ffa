"""The HTTP server and its demo page for a model of 20 classes, over real HTTP and in
headless Chromium: every route answers in TF Serving's shapes with the class names,
`:explain` explains the class asked for, and the page shows the top classes, a class
picker and that class's colours and curve. The two-class model's own tests are in
`test_server.py`."""
import re

import httpx
import numpy as np
import pytest

from benchmarks.server_process import ServerProcess
from test_server import ATOL, assert_error, assert_same_tree, browser, post_json  # noqa: F401 (a fixture)

NAME = "topics"
TOPICS = [f"topic.{name}" for name in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                                        "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
                                        "upsilon")]
REVIEWS = ["alpha words and beta words", "gamma gamma, then delta", "nothing known here", ""]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model trained one epoch on 20 class folders of 4 texts each, each class
    with a word of its own, in a directory named `topics`; its LSTM's outputs are pooled
    by attention, so the attention weights are served too."""
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.training import loop

    root = tmp_path_factory.mktemp("topics")
    for k, topic in enumerate(TOPICS):
        folder = root / "data" / topic
        folder.mkdir(parents=True)
        word = topic.split(".")[1]
        for j in range(4):
            (folder / f"{j}.txt").write_text(f"{word} {word} text {j} of {TOPICS[(k + j) % 20].split('.')[1]}")
    directory = root / NAME
    loop.train(Config(data=str(root / "data"), val_fraction=0.25, epochs=1, units=4, embed_dim=4, max_length=20,
                      pooling="attention", model_dir=str(directory), deterministic=False))
    return directory


@pytest.fixture(scope="module")
def classifier(model_dir):
    import sentiment_lstm

    return sentiment_lstm.load(model_dir)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    with ServerProcess(model_dir, log_dir=tmp_path_factory.mktemp("topics-log")) as server:
        server.wait_ready()
        yield server


def call(server, verb, data):
    response = post_json(server.url(f"/v1/models/{NAME}:{verb}"), data)
    return response.status_code, response.json()


def test_metadata_lists_the_classes_in_order(server, classifier):
    body = httpx.get(server.url(f"/v1/models/{NAME}/metadata")).json()
    assert body["metadata"]["labels"] == list(classifier.labels) == sorted(TOPICS)
    output = body["metadata"]["signature_def"]["signature_def"]["serving_default"]["outputs"]["output_0"]
    assert [d["size"] for d in output["tensor_shape"]["dim"]] == ["-1", "20"]


def test_predict_and_classify_answer_every_class(server, classifier):
    want = classifier.predict_proba(REVIEWS)
    status, body = call(server, "predict", {"instances": REVIEWS})
    assert status == 200 and np.array(body["predictions"]).shape == (len(REVIEWS), 20)
    np.testing.assert_allclose(body["predictions"], want, atol=ATOL)
    assert call(server, "predict", {"instances": []}) == (200, {"predictions": []})
    status, body = call(server, "classify", {"examples": [{"review": r} for r in REVIEWS]})
    assert status == 200
    for pairs, row in zip(body["result"], want, strict=True):
        assert [label for label, _ in pairs] == list(classifier.labels)
        np.testing.assert_allclose([p for _, p in pairs], row, atol=ATOL)


def test_explain_explains_the_predicted_class_or_the_one_asked_for(server, classifier):
    from sentiment_lstm.explain import attributions

    review = REVIEWS[0]
    for target in (None, "topic.omicron"):
        data = {"instances": [review], "steps": 16, **({"target": target} if target else {})}
        status, body = call(server, "explain", data)
        assert status == 200, body
        (got,) = body["explanations"]
        assert_same_tree(got, attributions.explain(classifier, review, steps=16, gates=False, target=target))
        assert got["target"] == (target or got["label"]) and set(got["trajectories"]) == set(TOPICS)
        assert len(got["attention"]) == 5 and sum(got["attention"]) == pytest.approx(1.0, abs=1e-5)
    assert_error(*call(server, "explain", {"instances": [review], "target": "topic.cooking"}), 400,
                 '"target"', '"topic.alpha"', '"topic.upsilon"', '"topic.cooking"')
    assert_error(*call(server, "explain", {"instances": [review], "target": 3}), 400, '"target"', "not 3")


def test_demo_page_shows_the_top_classes_and_the_picked_class(server, browser, classifier):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from benchmarks import browser as chromium

    review = "alpha words, beta words and more alpha"
    shown = chromium.classify_in_page(browser, server.url("/"), review)
    (row,) = classifier.predict_proba([review])
    order = np.argsort(-row, kind="stable")
    assert shown == f"{classifier.labels[order[0]]} ({100 * row.max():.1f}%)"
    bars = browser.find_elements(By.CSS_SELECTOR, "#classes li")
    assert len(bars) == 11 and bars[-1].get_attribute("data-name") == "others (10)"
    assert {b.get_attribute("data-name") for b in bars[:10]} == {classifier.labels[k] for k in order[:10]}
    assert float(bars[-1].get_attribute("data-probability")) == pytest.approx(row[order[10:]].sum(), abs=1e-5)
    picker = Select(browser.find_element(By.ID, "target"))
    assert picker.first_selected_option.get_attribute("value") == classifier.labels[order[0]]
    assert [o.get_attribute("value") for o in picker.options] == list(classifier.labels)

    def colours():  # read in one script: the words are redrawn when the answer comes
        return browser.execute_script(
            "return [...document.querySelectorAll('#review .word')].map(w => "
            "[w.dataset.attribution, getComputedStyle(w).backgroundColor]);")

    before = colours()
    other = classifier.labels[order[-1]]  # the least likely class
    picker.select_by_value(other)
    WebDriverWait(browser, 60).until(lambda _: colours() != before)
    _, body = call(server, "explain", {"instances": [review], "target": other})
    explanation = body["explanations"][0]
    after = colours()
    assert [float(a) for a, _ in after] == pytest.approx(explanation["attributions"], abs=1e-6)
    for attribution, colour in after:
        want = r"rgba\(26, 160, 70, [\d.]+\)" if float(attribution) >= 0 else r"rgba\(210, 40, 30, [\d.]+\)"
        assert re.fullmatch(want, colour), (attribution, colour)
    points = browser.find_element(By.ID, "trajectory").get_attribute("points").split()
    heights = [float(p.split(",")[1]) for p in points]
    # The curve is the picked class's: y = top + (1 - p) * 130 in the page's SVG.
    assert heights == pytest.approx([8 + (1 - p) * 130 for p in explanation["trajectories"][other]], abs=0.06)
    assert browser.find_element(By.ID, "label").text == shown  # the prediction stays
    browser.set_window_size(380, 800)  # a phone: nothing wider than the screen
    try:
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        browser.set_window_size(1000, 1000)
