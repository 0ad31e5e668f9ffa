"""The HTTP server over real HTTP: `serve.py` as a child process on a loopback port,
serving a tiny model trained here; answers compared with `sentiment_lstm.load(DIR)`
in this process.

Two servers: the main one (batching on, `--max-body-bytes` raised to 2,000,000 for the
1 MB review, debug logs to see the batches), and one with batching off and a queue of
one review, which also takes the SIGTERM at the end.
"""
import asyncio
import json
import os
import re
import signal
import socket
import time

import httpx
import numpy as np
import pytest

from benchmarks import browser as chromium
from benchmarks.server_process import ServerProcess
from conftest import TINY_IMDB, write_imdb_folder
from script_runner import run_script

NAME = "tiny"
BODY_LIMIT = 2_000_000
ATOL = 1e-5
LABELS = ["negative", "positive"]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A tiny model trained on TINY_IMDB, in a directory named `tiny`."""
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.training import loop

    root = tmp_path_factory.mktemp("server")
    directory = root / NAME
    loop.train(Config(data=str(write_imdb_folder(root, TINY_IMDB)), val_fraction=0.5, epochs=1, units=2,
                          embed_dim=2, max_length=50, model_dir=str(directory), deterministic=False))
    return directory


@pytest.fixture(scope="session")
def classifier(model_dir):
    """`sentiment_lstm.load(model_dir)`, in this process."""
    import sentiment_lstm

    return sentiment_lstm.load(model_dir)


@pytest.fixture(scope="session")
def expected(classifier):
    return classifier.predict_proba


def post_json(url, data, timeout=60):
    return httpx.post(url, content=json.dumps(data), timeout=timeout)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    """The main server, with what it answered while its model was loading."""
    with ServerProcess(model_dir, "--max-body-bytes", str(BODY_LIMIT), "--log-level", "debug",
                       log_dir=tmp_path_factory.mktemp("main")) as server:
        ready, predict = server.get("/v2/health/ready"), post_json(server.url(f"/v1/models/{NAME}:predict"),
                                                                    {"instances": ["Great."]})
        server.loading = {"ready": ready, "status": server.get(f"/v1/models/{NAME}"),
                          "predict": (predict.status_code, predict.json())}
        server.wait_ready()
        yield server


@pytest.fixture(scope="module")
def small(model_dir, tmp_path_factory):
    """A server with batching off and room for one waiting review."""
    with ServerProcess(model_dir, "--no-batching", "--max-batch-size", "1", "--max-enqueued-batches", "1",
                       log_dir=tmp_path_factory.mktemp("small")) as server:
        server.wait_ready()
        yield server


def call(server, verb, data, path=None):
    """(status, JSON) of POST /v1/models/tiny:VERB (or `path`) with `data` as JSON."""
    response = post_json(server.url(path or f"/v1/models/{NAME}:{verb}"), data)
    return response.status_code, response.json()


def assert_error(status, body, expected_status, *words):
    """An answer of TF Serving's error shape: exactly {"error": "<one sentence>"}."""
    assert status == expected_status, body
    assert list(body) == ["error"] and isinstance(body["error"], str), body
    sentence = body["error"]
    assert sentence[0].isupper() and sentence.endswith(".") and "\n" not in sentence, sentence
    assert "Traceback" not in sentence and "detail" not in body
    for word in words:
        assert word in sentence, sentence


# --- routes ----------------------------------------------------------------------------------


def test_not_ready_until_the_model_is_loaded_then_ready(server):
    status, body = server.loading["ready"]
    assert status == 503 and body["ready"] is False and "still loading" in body["error"]
    assert server.loading["status"] == (200, {"model_version_status": [
        {"version": "1", "state": "LOADING", "status": {"error_code": "OK", "error_message": ""}}]})
    assert_error(*server.loading["predict"], 503, "still loading")
    assert server.get("/v2/health/ready") == (200, {"ready": True})
    assert "is ready (loaded and warmed up in" in server.stderr()


def test_live_and_model_status(server):
    assert server.get("/v2/health/live") == (200, {"live": True})
    available = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                           "status": {"error_code": "OK", "error_message": ""}}]}
    assert server.get(f"/v1/models/{NAME}") == (200, available)
    assert server.get(f"/v1/models/{NAME}/versions/1") == (200, available)


def test_metadata_has_tf_servings_shape(server):
    status, body = server.get(f"/v1/models/{NAME}/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": NAME, "signature_name": "", "version": "1"}
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"] == {"review": {"dtype": "DT_STRING", "name": "serving_default_review:0",
                                              "tensor_shape": {"dim": [{"size": "-1", "name": ""}],
                                                               "unknown_rank": False}}}
    (output,) = signature["outputs"].values()
    assert output["dtype"] == "DT_FLOAT"
    assert output["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}, {"size": "2", "name": ""}],
                                      "unknown_rank": False}
    assert body["metadata"]["labels"] == LABELS
    assert server.get(f"/v1/models/{NAME}/versions/1/metadata") == (200, body)


REVIEWS = ["A great film, I loved it.", "Dull plot. Awful acting.", "Été magnifique 😀", "好看的电影",
           "", "   \n\t "]


def test_predict_row_and_columnar_formats_equal_the_model_in_process(server, expected):
    want = expected(REVIEWS)
    rows = [REVIEWS[0], {"review": REVIEWS[1]}, *REVIEWS[2:]]
    for path, data, key in (
            (f"/v1/models/{NAME}:predict", {"instances": rows}, "predictions"),
            (f"/v1/models/{NAME}/versions/1:predict", {"instances": REVIEWS, "signature_name": "serving_default"},
             "predictions"),
            (f"/v1/models/{NAME}:predict", {"inputs": REVIEWS}, "outputs"),
            (f"/v1/models/{NAME}:predict", {"inputs": {"review": REVIEWS}}, "outputs")):
        status, body = call(server, None, data, path=path)
        assert status == 200 and list(body) == [key], body
        np.testing.assert_allclose(np.array(body[key]), want, atol=ATOL)
    assert call(server, "predict", {"instances": []}) == (200, {"predictions": []})


def test_classify_gives_label_probability_pairs(server, expected):
    status, body = call(server, "classify", {"examples": [{"review": r} for r in REVIEWS[:3]]})
    assert status == 200 and list(body) == ["result"]
    for pairs, row in zip(body["result"], expected(REVIEWS[:3]), strict=True):
        assert [label for label, _ in pairs] == LABELS
        np.testing.assert_allclose([p for _, p in pairs], row, atol=ATOL)


def assert_same_tree(got, want, where="explanation"):
    """`got` (parsed JSON) equals `want` (`attributions.explain`'s dict): numbers to ATOL, the rest exactly."""
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for key in want:
            assert_same_tree(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), where
        for k, (g, w) in enumerate(zip(got, want)):
            assert_same_tree(g, w, f"{where}[{k}]")
    elif isinstance(want, float):
        assert abs(got - want) <= ATOL, (where, got, want)
    else:
        assert got == want, (where, got, want)


EXPLANATION_FIELDS = ("label", "score", "tokens", "read", "attributions", "occlusion", "trajectory", "log_odds",
                      "baseline_log_odds", "completeness_gap", "steps")


def test_explain_gives_predictions_and_the_explanations_of_explain_py(server, classifier):
    from sentiment_lstm.explain import attributions

    reviews = ["A great film, I loved it.", "Dull plot. Awful acting."]
    status, body = call(server, "explain", {"instances": reviews, "steps": 8, "gates": True})
    assert status == 200 and list(body) == ["predictions", "explanations"]
    np.testing.assert_allclose(body["predictions"], classifier.predict_proba(reviews), atol=ATOL)
    for got, review in zip(body["explanations"], reviews, strict=True):
        want = attributions.explain(classifier, review, steps=8, gates=True)
        assert set(EXPLANATION_FIELDS + ("gates",)) <= set(got)
        assert_same_tree(got, want)
        assert got["steps"] == 8 and len(got["attributions"]) == len(got["tokens"])
    status, body = call(server, "explain", {"inputs": reviews[:1]})
    assert status == 200 and list(body) == ["outputs", "explanations"]
    assert body["explanations"][0]["steps"] == 64 and body["explanations"][0].get("gates") is None


@pytest.mark.parametrize("data, words", [
    ({"instances": ["good"], "steps": 0}, ['"steps"', "1 to 1024"]),
    ({"instances": ["good"], "gates": "yes"}, ['"gates"', "true or false"]),
    ({"instances": ["good"] * 17}, ["at most 16 texts", "17"]),
])
def test_bad_explain_requests_are_400(server, data, words):
    assert_error(*call(server, "explain", data), 400, *words)


def test_page_is_self_contained(server):
    response = httpx.get(server.url("/"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<textarea" in page and f"const MODEL = \"{NAME}\";" in page
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert page.replace("http://www.w3.org/2000/svg", "").count("http") == 0  # an SVG namespace, not a fetch


def test_access_log_has_each_request_with_its_latency(server):
    server.get("/v2/health/live")
    lines = [line for line in server.stdout().splitlines() if '"GET /v2/health/live" 200' in line]
    assert lines and lines[-1].endswith(" ms") and float(lines[-1].split()[-2]) >= 0


# --- errors ------------------------------------------------------------------------------------

BAD_REQUESTS = {  # name -> (verb, body bytes, words of the answer)
    "malformed JSON": ("predict", b'{"instances": ["good"', ["not valid JSON"]),
    "invalid UTF-8": ("predict", b'{"instances": ["good \xff\xfe film"]}', ["not valid UTF-8", "0xff"]),
    "not an object": ("predict", b'["good"]', ["must be a JSON object"]),
    "wrong field": ("predict", b'{"instance": ["good"]}', ['"instance"']),
    "no instances": ("predict", b'{}', ['"instances"', '"inputs"']),
    "number instance": ("predict", b'{"instances": ["good", 3]}', ["Instance 1 is a number"]),
    "null instance": ("predict", b'{"instances": [null]}', ["Instance 0 is null"]),
    "both formats": ("predict", b'{"instances": ["a"], "inputs": ["b"]}', ["not both"]),
    "instances not a list": ("predict", b'{"instances": "good"}', ["must be a list"]),
    "lone surrogate": ("predict", b'{"instances": ["\\ud800"]}', ["surrogate"]),
    "other signature": ("predict", b'{"instances": ["a"], "signature_name": "other"}',
                        ['"serving_default"', '"other"']),
    "bad example": ("classify", b'{"examples": [{"text": "good"}]}', ['"review"']),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_requests_are_400_with_a_sentence(server, name):
    verb, body, words = BAD_REQUESTS[name]
    response = httpx.post(server.url(f"/v1/models/{NAME}:{verb}"), content=body)
    assert_error(response.status_code, response.json(), 400, *words)


@pytest.mark.parametrize("method, path, words", [
    ("GET", "/v1/models/other", ["no model named 'other'", "'tiny'"]),
    ("POST", "/v1/models/other:predict", ["no model named 'other'"]),
    ("POST", f"/v1/models/{NAME}/versions/2:predict", ["one version"]),
    ("POST", f"/v1/models/{NAME}:regress", [":regress"]),
    ("GET", "/no/such/route", ["GET /no/such/route"]),
])
def test_unknown_models_and_routes_are_404(server, method, path, words):
    response = httpx.request(method, server.url(path), content=b'{"instances": ["good"]}')
    assert_error(response.status_code, response.json(), 404, *words)


def test_wrong_method_is_405_with_the_allowed_one(server):
    response = httpx.post(server.url("/v2/health/live"))
    assert_error(response.status_code, response.json(), 405, "POST /v2/health/live", "GET")
    assert response.headers["allow"] == "GET"
    response = httpx.get(server.url(f"/v1/models/{NAME}:predict"))
    assert_error(response.status_code, response.json(), 405, f"/v1/models/{NAME}:predict answers POST only")
    assert response.headers["allow"] == "POST"
    response = httpx.post(server.url(f"/v1/models/{NAME}/metadata"), content=b"{}")
    assert_error(response.status_code, response.json(), 405, "answers GET only")
    assert response.headers["allow"] == "GET"


def test_body_over_the_limit_is_413(server):
    body = json.dumps({"instances": ["good " * (BODY_LIMIT // 5)]}).encode()
    assert len(body) > BODY_LIMIT
    response = httpx.post(server.url(f"/v1/models/{NAME}:predict"), content=body, timeout=60)
    assert_error(response.status_code, response.json(), 413, f"{BODY_LIMIT:,} bytes")


def test_a_full_queue_is_503_at_once(small):
    review = "a good film but a bad plot " * 40
    url = small.url(f"/v1/models/{NAME}:predict")

    async def burst():
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(url, content=json.dumps({"instances": [review]}))
                                          for _ in range(40)))

    answers = asyncio.run(burst())
    statuses = [a.status_code for a in answers]
    # One review running and one waiting get 200; how many of the burst arrive before the
    # first is taken off the queue is up to the event loop, so at least one does.
    assert set(statuses) == {200, 503} and statuses.count(200) >= 1, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert_error(503, answer.json(), 503, "queue is full")


def test_too_many_instances_are_refused_naming_the_limit(server):
    status, body = call(server, "predict", {"instances": ["good"] * 10_000})
    assert_error(status, body, 400, "at most 6,400 texts", "--max-batch-size", "10,000")


def test_start_up_errors_are_one_sentence_before_tensorflow_loads(model_dir, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{not json")
    busy = socket.create_server(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    cases = {  # flags -> (exit status, start of the message)
        ("--model-dir", str(tmp_path / "missing")): (1, f"error: There is no model directory {tmp_path / 'missing'}"),
        ("--model-dir", str(corrupt)): (1, f"error: {corrupt}/config.json is corrupt"),
        ("--model-dir", str(model_dir), "--port", str(port)): (1, f"error: Port {port} on 127.0.0.1 is already in use"),
        ("--model-dir", str(model_dir), "--max-batch-size", "0"): (1, "error: --max-batch-size must be at least 1"),
        ("--model-dir", str(model_dir), "--port", "70000"): (1, "error: --port must be from 0 to 65535"),
        ("--model-dir", str(model_dir), "--log-level", "loud"): (2, "error: argument --log-level: invalid choice"),
    }
    snippet = ("import sys\nfrom sentiment_lstm import cli\ntry:\n    cli.main(sys.argv[1:], command='serve')\n"
               "finally:\n    print('tensorflow' in sys.modules)")
    try:
        for flags, (status, message) in cases.items():
            result = run_script("-c", snippet, *flags)
            stderr = result.stderr.decode()
            assert result.returncode == status, stderr
            assert stderr.startswith(message) and stderr.count("\n") == 1, stderr
            assert result.stdout.decode() == "False\n"  # checked before TensorFlow loads
    finally:
        busy.close()


# --- load and bad input --------------------------------------------------------------------------


def test_200_concurrent_requests_each_get_their_own_answer(server, expected):
    reviews = [" ".join(["good"] * (k % 7) + ["bad"] * (k % 5) + ["film"] * (k % 40)) + f" {k}"
               for k in range(200)]
    url = server.url(f"/v1/models/{NAME}:predict")
    log_before = server.stderr()

    async def everyone():
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(*(client.post(url, content=json.dumps({"instances": [r]})) for r in reviews))

    answers = asyncio.run(everyone())
    assert [a.status_code for a in answers] == [200] * 200
    got = np.array([a.json()["predictions"][0] for a in answers])
    np.testing.assert_allclose(got, expected(reviews), atol=ATOL)
    batches = [line for line in server.stderr()[len(log_before):].splitlines() if "batch of" in line]
    coalesced = [line for line in batches if " (1 requests)" not in line]
    assert coalesced and len(batches) < 200, batches  # requests shared model calls


def test_bad_but_valid_input_is_answered(server, expected):
    megabyte = ("good film " * 100_000).strip()
    assert 999_000 < len(json.dumps({"instances": [megabyte]})) < BODY_LIMIT
    reviews = ["", " ", "\u00a0\u3000", "😀" * 50, "映画は素晴らしかった", megabyte]
    status, body = call(server, "predict", {"instances": reviews})
    assert status == 200
    np.testing.assert_allclose(np.array(body["predictions"]), expected(reviews), atol=ATOL)


def test_a_slow_client_does_not_block_others(server):
    slow = socket.create_connection((server.host, server.port))
    try:
        slow.sendall(f"POST /v1/models/{NAME}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                     '{"instances": '.encode())  # and never the rest
        time.sleep(0.2)
        start = time.monotonic()
        status, _ = call(server, "predict", {"instances": ["good"]})
        assert status == 200 and time.monotonic() - start < 20
    finally:
        slow.close()


def test_no_batching_gives_the_same_answers(small, expected):
    for review, want in zip(REVIEWS, expected(REVIEWS)):  # one at a time: its queue holds one review
        status, body = call(small, "predict", {"instances": [review]})
        assert status == 200
        np.testing.assert_allclose(body["predictions"][0], want, atol=ATOL)


def test_sigterm_answers_the_request_in_flight_and_refuses_new_ones(small, expected):
    """Runs last on `small`: it stops it."""
    body = json.dumps({"instances": ["a good film"]}).encode()
    client = socket.create_connection((small.host, small.port))
    client.sendall(f"POST /v1/models/{NAME}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                   f"Content-Type: application/json\r\n\r\n".encode() + body[:10])
    time.sleep(0.5)  # the request has reached the application, which waits for the rest of its body
    small.process.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((small.host, small.port), timeout=5)
    client.sendall(body[10:])
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    client.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer
    np.testing.assert_allclose(json.loads(payload)["predictions"], expected(["a good film"]), atol=ATOL)
    assert small.process.wait(60) == 0


def test_sigterm_while_the_model_loads_stops_at_once(model_dir, tmp_path):
    """Loading even this tiny model takes seconds (TensorFlow, then the compiled chunks'
    warm-up) on a thread nothing can interrupt; the server does not wait for it."""
    with ServerProcess(model_dir, log_dir=tmp_path) as loading:
        while "Application startup complete." not in loading.stderr():  # uvicorn handles signals from here
            time.sleep(0.01)
        loading.process.send_signal(signal.SIGTERM)
        assert loading.process.wait(timeout=3) == 0  # not after the load: 4.6-7 s here when it waited for it
        assert "Stopped before the model finished loading." in loading.stderr()


# --- the demo page in a real browser -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    found, reason = chromium.find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    with chromium.chromium() as session:
        yield session


def test_demo_page_shows_the_label_the_coloured_words_and_the_curve(server, browser, classifier):
    from selenium.webdriver.common.by import By

    review = "A wonderful film: I loved every minute, though the ending was weak."
    shown = chromium.classify_in_page(browser, server.url("/"), review)
    (row,) = classifier.predict_proba([review])
    label = LABELS[int(row.argmax())]
    assert shown == f"{label} ({100 * row.max():.1f}%)"
    words = browser.find_elements(By.CSS_SELECTOR, "#review .word")
    _, body = call(server, "explain", {"instances": [review]})
    explanation = body["explanations"][0]
    assert [w.text for w in words] == explanation["tokens"]
    assert browser.find_element(By.ID, "review").text == review  # the review as typed, words in place
    sign = 1 if label == "positive" else -1
    for word, attribution in zip(words, explanation["attributions"]):
        colour = word.value_of_css_property("background-color")
        green, red = re.fullmatch(r"rgba\(26, 160, 70, [\d.]+\)", colour), re.fullmatch(r"rgba\(210, 40, 30, [\d.]+\)", colour)
        assert (green if sign * attribution >= 0 else red), (word.text, attribution, colour)
    points = browser.find_element(By.ID, "trajectory").get_attribute("points").split()
    assert len(points) == len(explanation["trajectory"]) == explanation["read_count"]


def test_demo_page_shows_errors_in_words(server, browser):
    from selenium.webdriver.common.by import By

    assert chromium.classify_in_page(browser, server.url("/"), " ") == "Type a text first."
    browser.execute_script("document.getElementById('text').value = 'good '.repeat(arguments[0])", BODY_LIMIT // 4)
    shown = chromium.classify_in_page(browser, server.url("/"))
    assert shown == f"The request body is larger than {BODY_LIMIT:,} bytes (--max-body-bytes)."
    assert not browser.find_element(By.ID, "result").is_displayed()
