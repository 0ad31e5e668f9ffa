"""An HTTP server for one trained model directory: TensorFlow Serving's REST API,
KServe's health and explain routes, and a demo page, on FastAPI and uvicorn.

    GET  /                                  the demo page (self-contained HTML)
    GET  /v1/models/NAME                    the model's status (LOADING, then AVAILABLE)
    GET  /v1/models/NAME/metadata           its signature, review (DT_STRING [-1]) -> (DT_FLOAT [-1, N]),
                                            and its N class names in the order of the outputs
    POST /v1/models/NAME:predict            {"instances": [...]} or {"inputs": [...]}: N probabilities each
    POST /v1/models/NAME:classify           {"examples": [{"review": ...}]}: every class as [label, score]
    POST /v1/models/NAME:explain            KServe's explain: predictions and word attributions
                                            (of each one's predicted class, or of "target")
    GET  /v2/health/live, /v2/health/ready  KServe's probes (ready once the model is warm)

`/v1/models/NAME/versions/1...` is the same model. Errors are `{"error": "<sentence>"}`
with TF Serving's status codes: 400 a bad request, 404 an unknown model or route, 413 a
body over `max_body_bytes`, 503 the queue full or the model not loaded yet.

The server listens at once and loads the model on its model thread, the one thread
every model call then runs on; concurrent requests are coalesced into batches
(`batching.MicroBatcher`). SIGTERM or SIGINT stops it gracefully: new connections are
refused, requests in flight are answered. Each request is logged with its latency.

Example:

>>> serve(Options(model_dir="models/imdb_lstm", port=8501))   # until SIGTERM
$ curl -d '{"instances": ["A great film."]}' localhost:8501/v1/models/imdb_lstm:predict
{"predictions":[[0.03...,0.96...]]}
"""
import asyncio
import dataclasses
import json
import logging
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

import sentiment_lstm
from sentiment_lstm.core import checks, layout
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.server import batching, rest

log = logging.getLogger("sentiment_lstm.server")
access_log = logging.getLogger("sentiment_lstm.server.access")

PAGE = Path(__file__).with_name("demo.html")
MAX_EXPLAIN_REVIEWS = 16  # reviews per :explain request (each costs `steps` gradient rows)
WARM_UP = ["A fine film.", "Dull, slow and far too long; I would not watch it again. " * 20]
GET_PATH = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<metadata>/metadata)?")
POST_PATH = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?:(?P<verb>[A-Za-z_]+)")
VERBS = ("predict", "classify", "explain")


@dataclasses.dataclass
class Options:
    """What `serve` serves and how; the `sentiment-lstm serve` flags."""

    model_dir: str
    name: str | None = None  # default: the model directory's name
    host: str = "127.0.0.1"
    port: int = 8501  # 0: any free port (the log says which)
    max_batch_size: int = 64
    batch_timeout_micros: int = 2000
    max_enqueued_batches: int = 100
    batching: bool = True
    max_body_bytes: int = 1 << 20
    explain_steps: int = 64
    log_level: str = "info"
    graceful_timeout: float = 30.0  # seconds the answers in flight get after SIGTERM

    @property
    def model_name(self):
        return self.name or Path(self.model_dir).resolve().name


class ServedModel:
    """The model being served: its name, labels, state, model thread and batcher.

    `load()` runs on the model thread: it loads the classifier, warms it up, and makes
    the model ready; until then requests for predictions are answered 503.
    """

    def __init__(self, options, labels):
        self.options = options
        self.name = options.model_name
        self.labels = tuple(labels)
        self.classifier = None
        self.error = None  # the sentence of a failed load
        self.explaining = 0  # :explain requests waiting or running
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        batch_size = options.max_batch_size
        self.batcher = batching.MicroBatcher(
            self._predict_proba, self.executor, max_batch_size=batch_size,
            batch_timeout_micros=options.batch_timeout_micros,
            max_enqueued_batches=options.max_enqueued_batches,
            coalesce=options.batching and batch_size > 1, outputs=len(self.labels))

    @property
    def ready(self):
        return self.classifier is not None

    def _predict_proba(self, texts):
        return self.classifier.predict_proba(texts)

    def load(self):
        """Load and warm up the classifier (on the model thread)."""
        # A plain import, not `core.startup`'s quiet one: that points fd 2 at /dev/null while
        # TensorFlow loads, and the server's own log goes to fd 2 from the other thread meanwhile.
        import tensorflow  # noqa: F401

        start = time.perf_counter()
        classifier = sentiment_lstm.load(self.options.model_dir)
        classifier.warm_up(self.options.max_batch_size)  # the compiled chunks of every row count of a batch
        classifier.predict_proba(WARM_UP * (self.options.max_batch_size // 2 or 1))
        self.classifier = classifier
        log.info("Model %s is ready (loaded and warmed up in %.1f s).", self.name, time.perf_counter() - start)

    def check_ready(self):
        if not self.ready:
            raise rest.RestError(503, f"The model {self.name} is still loading; try again shortly.")

    async def explain(self, reviews, steps, gates, target=None):
        """The explanations of `reviews` (`attributions.explain_many`), on the model thread."""
        from sentiment_lstm.explain import attributions  # loads TensorFlow: not before the model does

        if self.explaining >= self.options.max_enqueued_batches:
            raise batching.QueueFull(f"{self.explaining} explanations are waiting; try again shortly.")
        self.explaining += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, lambda: attributions.explain_many(self.classifier, reviews, steps=steps, gates=gates,
                                                                 target=target))
        except UserError as error:
            raise rest.RestError(400, str(error)) from None
        finally:
            self.explaining -= 1


def create_app(served):
    """The FastAPI application serving `served` (a `ServedModel`)."""
    options = served.options

    async def lifespan(app):
        served.batcher.start()
        yield
        await served.batcher.stop()
        served.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="sentiment-lstm", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(AccessLog)
    page = PAGE.read_text().replace("__MODEL_NAME__", json.dumps(served.name).replace("<", "\\u003c"))

    @app.get("/", response_class=HTMLResponse)
    async def demo_page():
        return HTMLResponse(page)

    @app.get("/v2/health/live")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready():
        if not served.ready:
            return JSONResponse({"ready": False, "error": f"The model {served.name} is still loading."}, 503)
        return {"ready": True}

    @app.get("/v1/models/{target:path}")
    async def model_info(target: str):
        match = _resolve(GET_PATH, target, served, other=(POST_PATH, "POST"))
        if match["metadata"]:
            return rest.metadata(served.name, served.labels)
        return rest.model_status("AVAILABLE" if served.ready else "LOADING")

    @app.post("/v1/models/{target:path}")
    async def model_call(target: str, request: Request):
        verb = _resolve(POST_PATH, target, served, other=(GET_PATH, "GET"))["verb"]
        if verb not in VERBS:
            raise rest.RestError(404, f"There is no method :{verb}; a model answers "
                                      f"{', '.join(':' + v for v in VERBS)}.")
        data = rest.json_body(await read_body(request, options.max_body_bytes))
        if verb == "classify":
            reviews = rest.parse_classify(data)
            served.check_ready()
            return rest.classifications(await served.batcher.predict(reviews), served.labels)
        if verb == "predict":
            reviews, form = rest.parse_predict(data)
            served.check_ready()
            return rest.predictions(await served.batcher.predict(reviews), form)
        reviews, form, steps, gates, target = rest.parse_explain(data, options.explain_steps, served.labels)
        if len(reviews) > MAX_EXPLAIN_REVIEWS:
            raise rest.RestError(400, f"An explain request may hold at most {MAX_EXPLAIN_REVIEWS} texts; "
                                      f"this one holds {len(reviews)}.")
        served.check_ready()
        rows = await served.batcher.predict(reviews)
        return {**rest.predictions(rows, form), "explanations": await served.explain(reviews, steps, gates, target)}

    _install_error_handlers(app)
    return app


def _resolve(pattern, target, served, other=None):
    """The match of `target` (the path after /v1/models/) for the served model; a 405 when
    it is the route of `other` = (its pattern, its method), else a 404."""
    match = pattern.fullmatch(target)
    if match is None and other is not None and other[0].fullmatch(target):
        raise rest.RestError(405, f"The route /v1/models/{target} answers {other[1]} only.",
                             headers={"Allow": other[1]})
    if match is None:
        raise rest.RestError(404, f"There is no route /v1/models/{target}.")
    if match["name"] != served.name:
        raise rest.RestError(404, f"There is no model named {match['name']!r}; this server serves {served.name!r}.")
    if match["version"] not in (None, rest.VERSION):
        raise rest.RestError(404, f"Model {served.name} has one version, {rest.VERSION}, "
                                  f"not {match['version']!r}.")
    return match


async def read_body(request, limit):
    """The request's body, or a 413 `RestError` once it passes `limit` bytes (the rest
    of the body is read and dropped, so the client hears the answer)."""
    length = request.headers.get("content-length", "")
    too_large = length.isdigit() and int(length) > limit
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        too_large = too_large or size > limit
        if not too_large:
            chunks.append(chunk)
    if too_large:
        raise rest.RestError(413, f"The request body is larger than {limit:,} bytes (--max-body-bytes).")
    return b"".join(chunks)


def _error(status, message, headers=None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _install_error_handlers(app):
    """Every error answered as `{"error": "<sentence>"}`, never FastAPI's `{"detail": ...}`."""

    @app.exception_handler(rest.RestError)
    async def refused(request, error):
        return _error(error.status, str(error), error.headers)

    @app.exception_handler(batching.QueueFull)
    async def queue_full(request, error):
        return _error(503, str(error))

    @app.exception_handler(batching.TooLarge)
    async def too_large(request, error):
        return _error(400, str(error))

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        where = f"{request.method} {request.url.path}"
        if error.status_code == 404:
            return _error(404, f"There is no route {where}; see GET / for the API.")
        if error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "another method")
            return _error(405, f"{where} is not allowed; this route answers {allowed}.", error.headers)
        return _error(error.status_code, f"{where} failed: {error.detail}.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request, error):
        return _error(400, "The request does not have the expected form.")

    @app.exception_handler(Exception)
    async def bug(request, error):
        log.exception("Error while answering %s %s", request.method, request.url.path)
        return _error(500, f"The server failed to answer ({type(error).__name__}); its log has the details.")


class AccessLog:
    """ASGI middleware: one log line per request, with its status and latency."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s:%s "%s %s" %d %.1f ms', client[0], client[1], scope["method"], scope["path"],
                            status[0], (time.perf_counter() - start) * 1e3)


def check(options):
    """The labels of the model, checking `options` and the model
    directory without TensorFlow.

    Raises:
        UserError: a flag out of range, or a missing or corrupt model directory.
    """
    for flag, value, low in (("--max-batch-size", options.max_batch_size, 1),
                             ("--batch-timeout-micros", options.batch_timeout_micros, 0),
                             ("--max-enqueued-batches", options.max_enqueued_batches, 1),
                             ("--max-body-bytes", options.max_body_bytes, 1),
                             ("--explain-steps", options.explain_steps, 1)):
        checks.whole_number(value, flag, low)
    if not 0 <= options.port <= 65535:
        raise UserError(f"--port must be from 0 to 65535, not {options.port}.")
    if options.name is not None and not re.fullmatch(r"[^/:\s]+", options.name):
        raise UserError(f"--name must be a name without '/', ':' or spaces, not {options.name!r}.")
    return layout.read(options.model_dir)[1]["labels"]


def listen(host, port):
    """A listening socket on `host`:`port`, or a `UserError` in one sentence."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family, backlog=4096)
    except socket.gaierror as error:
        raise UserError(f"Cannot listen on {host}: {error.strerror}.") from None
    except OSError as error:
        if error.errno == 98:  # EADDRINUSE
            raise UserError(f"Port {port} on {host} is already in use; choose another with --port.") from None
        raise UserError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None


class _Server(uvicorn.Server):
    """uvicorn's server, which starts loading the model once it listens, and ends with
    exit status 0 after a graceful stop (uvicorn would re-raise the signal)."""

    def __init__(self, config, served):
        super().__init__(config)
        self.served = served

    async def startup(self, sockets=None):
        await super().startup(sockets)
        if not self.should_exit:
            asyncio.get_running_loop().create_task(self._load())

    async def _load(self):
        try:
            await asyncio.get_running_loop().run_in_executor(self.served.executor, self.served.load)
        except UserError as error:
            self.served.error = str(error)
            self.should_exit = True
        except Exception:  # a bug: its traceback in the log, and the server stops
            log.exception("The model failed to load.")
            self.served.error = "The model failed to load; the log above has the details."
            self.should_exit = True

    async def shutdown(self, sockets=None):
        await super().shutdown(sockets)
        self._captured_signals.clear()


def logging_config(level):
    """uvicorn's and our logs: timestamped lines, the access log on stdout, the rest on stderr."""
    formatter = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "plain"}
    level = level.upper()
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": formatter},
            "handlers": {"stderr": {**handler, "stream": "ext://sys.stderr"},
                         "stdout": {**handler, "stream": "ext://sys.stdout"}},
            "loggers": {"uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
                        "sentiment_lstm.server": {"handlers": ["stderr"], "level": level, "propagate": False},
                        "sentiment_lstm.server.access": {"handlers": ["stdout"], "level": level,
                                                         "propagate": False}}}


def serve(options):
    """Serve `options.model_dir` until SIGTERM or SIGINT (see the module).

    Returns:
        Whether the model had loaded: False when a signal stopped the server before it
        did, its load still running on the model thread (which nothing can interrupt).

    Raises:
        UserError: bad options, a missing or corrupt model directory, a port in use.
    """
    labels = check(options)
    sock = listen(options.host, options.port)
    served = ServedModel(options, labels)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(create_app(served), host=host, port=port, log_config=logging_config(options.log_level),
                            log_level=options.log_level, access_log=False, http="h11", loop="asyncio",
                            ws="none", lifespan="on", server_header=False,
                            timeout_graceful_shutdown=options.graceful_timeout)
    log.info("Serving model %s from %s at http://%s:%d/ (the model loads first).",
             served.name, options.model_dir, _url_host(host), port)
    _Server(config, served).run(sockets=[sock])
    if served.error:
        raise UserError(served.error)
    if not served.ready:
        log.info("Stopped before the model finished loading.")
    return served.ready


def _url_host(host):
    return f"[{host}]" if ":" in host else host
