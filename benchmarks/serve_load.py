"""Load on `sentiment-lstm serve`: 1,000 concurrent clients, then batch clients, with
micro-batching on and off, against the same model called in this process.

    python benchmarks/serve_load.py                      # /work/models/best_1epoch and /work/models/default
    python benchmarks/serve_load.py --models DIR --clients 200 --out benchmarks/out/serve_load.json

For each model directory and each batching mode, the server runs as a child process on
a loopback port (`benchmarks.server_process`), and this process's asyncio client (httpx)
sends real test texts: IMDB's test reviews, or those of `--data` (any labeled data
`train --data` takes: its test split, or the whole table; repeated when it holds fewer
texts than the run sends):

- `sequential`: one request at a time (`--sequential` of them): the latency a lone
  user sees, beside the in-process single-review call;
- `concurrent`: `--clients` clients at once, each posting one review (`:predict`, one
  instance), all started together;
- `batch`: `--batch-clients` clients at once, each posting `--batch-size` reviews.

Reported per run: errors (non-200 answers and failed connections), throughput (reviews
per second of wall time), p50/p95/p99 latency per request, and the server's peak RSS.
The in-process figures call the model directory's SavedModel `serve` function on the
same reviews (single reviews; batches of `--batch-size`), so the server's cost is a ratio;
and `sentiment_lstm.load(DIR).predict_proba`, the server's own model call (the first
`--sequential` reviews one by one, and the batches).
Every request is bounded by `--timeout` seconds. The client shares the CPU with the
server, so on a small machine its own work lowers the server's figures.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import environment  # noqa: E402
from benchmarks.processes import TreePeak  # noqa: E402
from benchmarks.server_process import ServerProcess  # noqa: E402

MODELS = ("/work/models/best_1epoch", "/work/models/default")
RESULTS = ROOT / "benchmarks" / "results" / "serve_load.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="model directories to serve")
    parser.add_argument("--data", default=None,
                        help="labeled texts whose test split is sent (default: IMDB's, the local copy)")
    parser.add_argument("--clients", type=int, default=1000, help="concurrent single-review clients")
    parser.add_argument("--batch-clients", type=int, default=32, help="concurrent batch clients")
    parser.add_argument("--batch-size", type=int, default=64, help="reviews per batch client's request")
    parser.add_argument("--sequential", type=int, default=100, help="requests sent one at a time")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a request may take")
    parser.add_argument("--modes", nargs="+", default=["batching", "no-batching"],
                        choices=["batching", "no-batching"])
    parser.add_argument("--out", default=str(RESULTS), help="result JSON (default: %(default)s)")
    return parser.parse_args(argv)


def percentiles(seconds):
    """p50/p95/p99/mean of `seconds` in milliseconds."""
    ms = np.asarray(seconds, float) * 1e3
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1),
            "mean_ms": round(float(ms.mean()), 1)}


async def send_all(url, bodies, concurrency, timeout):
    """POST every body of `bodies` with at most `concurrency` in flight, all started at
    once; (wall seconds, [(status or error name, seconds, JSON or None)])."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        async def one(body):
            start = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
                return response.status_code, time.perf_counter() - start, response.json()
            except httpx.HTTPError as error:
                return type(error).__name__, time.perf_counter() - start, None

        start = time.perf_counter()
        answers = await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - start, answers


def load_run(url, groups, concurrency, timeout, expected):
    """One load run: the answers of posting each group of reviews as one request."""
    bodies = [json.dumps({"instances": group}) for group in groups]
    wall, answers = asyncio.run(send_all(url, bodies, concurrency, timeout))
    errors = {}
    worst = 0.0
    for (status, _, body), group, want in zip(answers, groups, expected):
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
        else:
            worst = max(worst, float(np.abs(np.array(body["predictions"]) - want).max()))
    reviews = sum(len(g) for g in groups)
    return {"requests": len(groups), "reviews": reviews, "concurrency": concurrency,
            "errors": sum(errors.values()), "error_kinds": errors, "wall_s": round(wall, 2),
            "throughput_reviews_per_s": round(reviews / wall, 1),
            "latency": percentiles([seconds for _, seconds, _ in answers]),
            "max_abs_diff_vs_in_process": worst}


def in_process(model_dir, singles, batches, sequential):
    """The SavedModel `serve` function on the same reviews, in this process: single-review
    latency and batch throughput, and its rows (the reference of the server's answers)."""
    import tensorflow as tf

    import sentiment_lstm

    saved = tf.saved_model.load(str(Path(model_dir) / "saved_model"))  # kept: `serve` uses its variables

    def call(texts):
        return saved.serve(tf.constant(texts)).numpy()

    call(singles[:1])
    call(batches[0])
    durations, single_rows = [], []
    for review in singles:
        start = time.perf_counter()
        single_rows.append(call([review])[0])
        durations.append(time.perf_counter() - start)
    start = time.perf_counter()
    batch_rows = [call(batch) for batch in batches]
    wall = time.perf_counter() - start
    predict_proba = sentiment_lstm.load(model_dir).predict_proba  # what the server calls
    predict_proba(batches[0])
    predict_proba(singles[:1])
    proba_durations = []
    for review in singles[:sequential]:
        start = time.perf_counter()
        predict_proba([review])
        proba_durations.append(time.perf_counter() - start)
    start = time.perf_counter()
    for batch in batches:
        predict_proba(batch)
    proba_wall = time.perf_counter() - start
    reviews = sum(len(b) for b in batches)
    return ({"single": {"calls": len(singles), "latency": percentiles(durations)},
             "batch": {"batches": len(batches), "batch_size": len(batches[0]), "wall_s": round(wall, 2),
                       "throughput_reviews_per_s": round(reviews / wall, 1)},
             "single_predict_proba": {"calls": len(proba_durations), "latency": percentiles(proba_durations)},
             "batch_predict_proba": {"wall_s": round(proba_wall, 2),
                                     "throughput_reviews_per_s": round(reviews / proba_wall, 1)}},
            np.array(single_rows), batch_rows)


def serve_runs(model_dir, mode, reviews, args, reference):
    """The three load runs against one server; its peak RSS."""
    name = Path(model_dir).name
    flags = ["--log-level", "info"] + (["--no-batching"] if mode == "no-batching" else [])
    with ServerProcess(model_dir, *flags) as server:
        started = time.perf_counter()
        server.wait_ready(poll=0.5)
        ready_s = time.perf_counter() - started
        url = server.url(f"/v1/models/{name}:predict")
        singles, batches = reference["singles"], reference["batches"]
        with TreePeak(server.process.pid) as peak:
            sequential = [load_run(url, [[r]], 1, args.timeout, [row])
                          for r, row in zip(reviews[:args.sequential], singles[:args.sequential])]
            concurrent = load_run(url, [[r] for r in reviews[:args.clients]], args.clients, args.timeout,
                                  [row[None] for row in singles[:args.clients]])
            groups = [reviews[k * args.batch_size:(k + 1) * args.batch_size] for k in range(args.batch_clients)]
            batch = load_run(url, groups, args.batch_clients, args.timeout, batches)
        status = server.stop()
    seconds = [s["latency"]["mean_ms"] / 1e3 for s in sequential]  # each run is one request
    return {"mode": mode, "ready_after_s": round(ready_s, 1), "exit_status": status,
            "server_peak_rss_mib": round(peak.mib, 1),
            "sequential": {"requests": len(sequential), "errors": sum(s["errors"] for s in sequential),
                           "latency": percentiles(seconds)},
            "concurrent": concurrent, "batch": batch}


def main(argv=None):
    args = parse_args(argv)
    from sentiment_lstm.data import imdb, sources

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a socket per client, here and in the server
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = max(args.clients, args.batch_clients * args.batch_size, args.sequential)
    if args.data is None:
        reviews = list(imdb.load_reviews(imdb.resolve_source(None), "test", limit=count, seed=0).texts)
    else:
        reviews = list(sources.load(args.data, "test").texts)
    random.Random(0).shuffle(reviews)  # the split comes sorted by class
    reviews = (reviews * -(-count // len(reviews)))[:count]
    results = {"environment": environment.describe(), "command": " ".join(["python", *sys.argv]),
               "load_average_at_start": list(np.round(os.getloadavg(), 2)),
               "settings": vars(args), "reviews": len(reviews),
               "mean_review_words": round(float(np.mean([len(r.split()) for r in reviews])), 1), "models": []}
    for model_dir in args.models:
        batches_in = [reviews[k * args.batch_size:(k + 1) * args.batch_size] for k in range(args.batch_clients)]
        figures, singles, batch_rows = in_process(model_dir, reviews[:max(args.clients, args.sequential)], batches_in,
                                                 args.sequential)
        reference = {"singles": singles, "batches": batch_rows}
        entry = {"model_dir": model_dir, "in_process_saved_model": figures, "server": []}
        for mode in args.modes:
            run = serve_runs(model_dir, mode, reviews, args, reference)
            run["ratios"] = {
                "sequential_p50_vs_in_process_predict_proba_single_p50": round(
                    run["sequential"]["latency"]["p50_ms"] / figures["single_predict_proba"]["latency"]["p50_ms"], 2),
                "sequential_p50_vs_in_process_single_p50": round(
                    run["sequential"]["latency"]["p50_ms"] / figures["single"]["latency"]["p50_ms"], 2),
                "concurrent_throughput_vs_in_process_batch": round(
                    run["concurrent"]["throughput_reviews_per_s"] / figures["batch"]["throughput_reviews_per_s"], 3),
                "batch_throughput_vs_in_process_batch": round(
                    run["batch"]["throughput_reviews_per_s"] / figures["batch"]["throughput_reviews_per_s"], 3),
                "batch_throughput_vs_in_process_predict_proba": round(
                    run["batch"]["throughput_reviews_per_s"]
                    / figures["batch_predict_proba"]["throughput_reviews_per_s"], 3)}
            entry["server"].append(run)
            print(json.dumps({"model": model_dir, **run}), flush=True)
        results["models"].append(entry)
    results["load_average_at_end"] = list(np.round(os.getloadavg(), 2))
    environment.write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
