"""Training throughput of one process against two `--distribute multi-worker` workers on
this machine, one core each, and the time a step spends in the gradients' all-reduce.

    python benchmarks/distributed.py                       # 2,000 IMDB reviews, 3 epochs
    python benchmarks/distributed.py --limit 4000 --epochs 4

Every run trains train.py's default model (`Config()`: vocabulary 20,000, 200 tokens,
embedding 64, 64 units, batch 64) on the same `--limit` training reviews, all of them
(`--val-fraction 0`: no validation pass in the epochs timed), each process pinned to
one core with one intra-op and one inter-op thread:

    fit        one process, `--distribute none`: Keras' `fit` (what train.py runs by default)
    loop       one process, `--distribute mirrored` on its one CPU: the custom loop of
               `distributed.py` with one replica, to tell the loop's cost from the network's
    workers    two processes, `--distribute multi-worker` on 127.0.0.1 (cores 0 and 1),
               each on half of every global batch of 64

The runs take turns. Reported: seconds per epoch after the first (which traces),
reviews/s, and for `workers` the all-reduce alone: the same collective as a training
step's (every trainable variable's gradient, the embedding's as `tf.IndexedSlices` of one
row per token position of a replica's half batch, as `Embedding`'s gradient is), timed
on its own after training, with the bytes each worker sends per step; the JSON then
works out the step time at 1 and 10 Gbit/s between machines.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as train.py
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentiment_lstm.core import config as config_module  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "distributed.json"
ALL_REDUCE_WARMUP, ALL_REDUCE_REPEATS = 3, 20
LINKS_GBIT = (1, 10)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--limit", type=int, default=2000, help="training reviews (default: 2000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run, the first untimed (default: 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT})")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: role core report [sparse rows]
    return parser.parse_args(argv)


def run_config(args, distribute, model_dir):
    return config_module.Config(data=args.data, limit=args.limit, epochs=args.epochs, val_fraction=0.0,
                                distribute=distribute, model_dir=str(model_dir), intra_op_threads=1)


def child(args):
    """One benchmark process: `--child "ROLE CORE REPORT SPARSE_ROWS"`."""
    role, core, report, sparse_rows = args.child.split()
    os.sched_setaffinity(0, {int(core)})
    import keras
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    from sentiment_lstm.training import loop

    distribute = {"fit": "none", "loop": "mirrored", "workers": "multi-worker"}[role]
    epochs = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epochs.append(time.perf_counter() - self.started)

        def on_train_end(self, logs=None):
            if role == "workers":
                result.update(time_all_reduce(self.model, int(sparse_rows)))

    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        loop.train(run_config(args, distribute, Path(tmp) / "model"), callbacks=[Timer()])
    Path(report).write_text(json.dumps({"epoch_seconds": epochs, **result}))


def time_all_reduce(token_model, sparse_rows):
    """Seconds per all-reduce of one step's gradients under the model's strategy, and
    the bytes of those gradients on each worker: `{"all_reduce_seconds", "dense_bytes",
    "sparse_bytes"}`."""
    import tensorflow as tf

    strategy = token_model.distribute_strategy
    variables = token_model.trainable_variables
    embedding = token_model.get_layer("embedding").embeddings

    def gradients():
        grads = []
        for v in variables:
            if v is embedding:  # one row per token position, as tf.gather's gradient
                rows = tf.random.uniform([sparse_rows], 0, v.shape[0], tf.int32)
                shape = tf.constant(list(v.shape), tf.int64)
                grads.append(tf.IndexedSlices(tf.ones([sparse_rows, v.shape[1]]), rows, shape))
            else:
                grads.append(tf.ones(v.shape))
        return grads

    @tf.function
    def all_reduce():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.SUM, gradients()))

    for _ in range(ALL_REDUCE_WARMUP):
        all_reduce()
    times = []
    for _ in range(ALL_REDUCE_REPEATS):
        started = time.perf_counter()
        tf.nest.map_structure(lambda t: t.values if hasattr(t, "values") else t, all_reduce())
        times.append(time.perf_counter() - started)
    dense = sum(4 * math.prod(v.shape) for v in variables if v is not embedding)
    sparse = sparse_rows * (4 * embedding.shape[1] + 4)  # float32 values and int32 indices
    return {"all_reduce_seconds": statistics.median(times), "dense_bytes": dense, "sparse_bytes": sparse,
            "embedding_dense_bytes": 4 * math.prod(embedding.shape)}


def batch_shape(args):
    """`(steps per epoch, mean token positions per global batch, reviews)` of the benchmark's
    training batches (`pipeline.make_dataset` as train.py builds them)."""
    import tensorflow as tf

    from sentiment_lstm.text import pipeline
    from sentiment_lstm.training import loop

    settings = run_config(args, "none", "unused")
    reviews, _, vectorizer = loop.read_splits(settings)
    batches = pipeline.make_dataset(reviews, vectorizer, settings.batch_size, settings.max_length, bucket=settings.bucket)
    positions = [int(tf.size(tokens)) for tokens, _ in batches]
    return len(positions), statistics.mean(positions), len(reviews.labels)


def start(args, role, core, report, sparse_rows, tf_config=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = tf_config
    command = [sys.executable, __file__, "--limit", str(args.limit), "--epochs", str(args.epochs),
               "--child", f"{role} {core} {report} {sparse_rows}"] + (["--data", args.data] if args.data else [])
    return subprocess.Popen(command, cwd=ROOT, env=env)


def run_role(args, role, sparse_rows, tmp):
    """Run `role`'s process(es) to the end; the first process's report."""
    from sentiment_lstm.training import distributed

    workers = 2 if role == "workers" else 1
    tf_configs = distributed.local_cluster(workers) if workers > 1 else [None]
    reports = [Path(tmp) / f"{role}{i}.json" for i in range(workers)]
    processes = [start(args, role, i, reports[i], sparse_rows, tf_configs[i]) for i in range(workers)]
    if any(p.wait() for p in processes):
        raise SystemExit(f"error: the {role} run failed.")
    return json.loads(reports[0].read_text())


def summarize(role, report, steps, reviews):
    timed = report["epoch_seconds"][1:]
    seconds = statistics.median(timed)
    return {"epoch_seconds": report["epoch_seconds"], "median_epoch_seconds": seconds,
            "step_seconds": seconds / steps, "reviews_per_second": reviews / seconds}


def estimate(workers, steps, fit):
    """Step time of 2 machines at each link speed: the worker's step less its loopback
    all-reduce, plus the bytes each worker sends over the link (ring all-reduce of the
    dense gradients: 2 (N - 1) / N of them, N = 2; all-gather of the sparse ones: the
    other worker's rows), against one machine's `fit` step."""
    compute = workers["step_seconds"] - workers["all_reduce_seconds"]
    sent = workers["dense_bytes"] * 2 * (2 - 1) / 2 + workers["sparse_bytes"] * (2 - 1)
    rows = {}
    for gbit in LINKS_GBIT:
        transfer = sent * 8 / (gbit * 1e9)
        step = compute + transfer
        rows[f"{gbit}_gbit"] = {"transfer_seconds": transfer, "step_seconds": step,
                                "speedup_vs_one_process_fit": fit["step_seconds"] / step}
    return {"compute_seconds_per_step": compute, "bytes_sent_per_worker_per_step": sent, **rows}


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    from benchmarks import environment

    steps, positions, reviews = batch_shape(args)
    sparse_rows = round(positions / 2)  # one worker's half of a global batch
    results = {"command": "python benchmarks/distributed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "environment": environment.describe(), "limit": args.limit, "epochs": args.epochs,
               "steps_per_epoch": steps, "token_positions_per_batch": positions, "reviews": reviews,
               "note": "2 cores shared with other jobs while this ran: figures are noisy"}
    with tempfile.TemporaryDirectory() as tmp:
        for role in ("fit", "loop", "workers"):
            report = run_role(args, role, sparse_rows, tmp)
            results[role] = {**summarize(role, report, steps, reviews),
                             **{k: v for k, v in report.items() if k != "epoch_seconds"}}
            print(role, json.dumps(results[role]), flush=True)
    results["workers_vs_fit"] = results["workers"]["reviews_per_second"] / results["fit"]["reviews_per_second"]
    results["loop_vs_fit"] = results["loop"]["reviews_per_second"] / results["fit"]["reviews_per_second"]
    results["estimate_two_machines"] = estimate(results["workers"], steps, results["fit"])
    environment.write_json(args.out, results)
    print(json.dumps({k: results[k] for k in ("workers_vs_fit", "loop_vs_fit", "estimate_two_machines")}, indent=1))


if __name__ == "__main__":
    main()
