"""Serve a trained model over HTTP: TensorFlow Serving's REST API, KServe's health and
explain routes, and a demo page at /.

    sentiment-lstm serve --model-dir models/imdb_lstm              # http://127.0.0.1:8501/
    curl -d '{"instances": ["A great film."]}' \\
        127.0.0.1:8501/v1/models/imdb_lstm:predict                # {"predictions": [[0.03, 0.97]]}

Concurrent requests are coalesced into batches of up to --max-batch-size reviews,
waiting at most --batch-timeout-micros for a batch to fill; at most
--max-enqueued-batches batches wait, beyond which requests are answered 503 at once.
SIGTERM or SIGINT stops the server after answering the requests in flight.
"""
import os
import sys

from sentiment_lstm.core import config

HELP = "serve a trained model over HTTP (TensorFlow Serving's REST API and a demo page)"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def add_arguments(parser):
    parser.add_argument("--model-dir", default=config.Config().output_dir,
                        help="model directory written by train (default: %(default)s)")
    parser.add_argument("--name", help="the model's name in URLs (default: the model directory's name)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8501, help="port to listen on; 0 picks a free one "
                        "(default: %(default)s, TensorFlow Serving's REST port)")
    parser.add_argument("--max-batch-size", type=int, default=64,
                        help="most reviews per model call; 1 turns batching off (default: %(default)s)")
    parser.add_argument("--batch-timeout-micros", type=int, default=2000,
                        help="how long a batch waits to fill after its first review (default: %(default)s)")
    parser.add_argument("--max-enqueued-batches", type=int, default=100,
                        help="full batches that may wait; beyond them requests get 503 (default: %(default)s)")
    parser.add_argument("--no-batching", dest="batching", action="store_false",
                        help="run each request on its own, never coalesced with others")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20,
                        help="largest request body accepted, else 413 (default: %(default)s, 1 MiB)")
    parser.add_argument("--explain-steps", type=int, default=64,
                        help="Integrated Gradients points of :explain when a request names none "
                        "(default: %(default)s)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="least severe log lines shown; info logs each request (default: %(default)s)")


def run(args):
    from sentiment_lstm.server import app

    options = app.Options(model_dir=args.model_dir, name=args.name, host=args.host, port=args.port,
                             max_batch_size=args.max_batch_size, batch_timeout_micros=args.batch_timeout_micros,
                             max_enqueued_batches=args.max_enqueued_batches, batching=args.batching,
                             max_body_bytes=args.max_body_bytes, explain_steps=args.explain_steps,
                             log_level=args.log_level)
    if not app.serve(options):
        # Stopped while the model loads: Python would wait for the model thread at exit,
        # seconds of TensorFlow that nothing can interrupt; the server has answered and closed.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
