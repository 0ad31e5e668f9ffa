"""Seconds per training epoch on IMDB: our pipeline, the plain Keras reference, and PyTorch.

    python benchmarks/epoch_speed.py                # 25,000 training reviews -> benchmarks/results/epoch_speed.json
    python benchmarks/epoch_speed.py --limit 2000   # a quick slice -> benchmarks/out/epoch_speed.json
    python benchmarks/epoch_speed.py --rounds 3     # three interleaved epochs each, medians

One epoch over the training reviews (all of them: no validation pass), each pipeline
with train.py's default hyperparameters (`Config()`: vocabulary 20,000, 200 tokens,
embedding 64, 64 units, embedding dropout 0.2, dense dropout 0.3, Adam 1e-3, batch 64,
op determinism on):

    ours        train.py's pipeline: `text.make_dataset` (length buckets, each batch padded
                to its bucket), `model.build_token_model(vocab, Config())` with the
                project's LSTM layer, and train.py's thread setting
                (`training.set_threads(Config().intra_op_threads)`)
    keras       the plain Keras reference: TextVectorization with the project's
                `standardize` and `output_sequence_length=200` (every batch padded to 200),
                Embedding(mask_zero) -> SpatialDropout1D -> keras.layers.LSTM -> Dropout ->
                Dense(2, softmax), same sizes and optimiser, TensorFlow's default threads
    keras-same-threads
                the same reference with our thread setting, to show what that setting
                does for it (`--no-keras-same-threads` leaves it out)
    pytorch     nn.LSTM over `pack_padded_sequence` (benchmarks/torch_lstm.py) on the very
                token batches of our pipeline (one epoch's worth, taken from it beforehand);
                skipped, with the reason, when PyTorch is not installed

Each pipeline runs in its own process (TensorFlow's thread settings are fixed per
process), on the same reviews and vocabulary; the processes take turns and only one
trains at a time. Each first trains on `--warmup-batches` batches (tracing,
allocation); then `--rounds` rounds run one epoch of each pipeline in turn, so
background load hits them alike; reported: the median seconds per epoch, samples/s,
the speed-ups ours vs keras and ours vs pytorch (bars: >= 2x and >= 1x), and the
peak RSS of each pipeline's process during its epochs.
"""
import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as train.py
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.flags import positive_int  # noqa: E402
from sentiment_lstm import cli, config  # noqa: E402
from sentiment_lstm.errors import UserError  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "epoch_speed.json"
QUICK_OUT = ROOT / "benchmarks" / "out" / "epoch_speed.json"
QUICK_LIMIT = 2000
BARS = {"ours_vs_keras": 2.0, "ours_vs_pytorch": 1.0}
PIPELINES = ("ours", "keras", "keras-same-threads", "pytorch")


class PeakRSS:
    """Peak resident memory (MiB) of this process while the `with` block runs.

    On Linux the kernel's high-water mark is reset on entry (`/proc/self/clear_refs`)
    and read on exit (VmHWM); elsewhere a thread samples psutil every 10 ms.
    """

    STATUS = Path("/proc/self/status")
    CLEAR_REFS = Path("/proc/self/clear_refs")

    def __enter__(self):
        self.peak_mib = None
        self._exact = self._reset()
        if not self._exact:
            import psutil

            self._process, self._stop = psutil.Process(), threading.Event()
            self._sampled = self._process.memory_info().rss
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._exact:
            self.peak_mib = self._status_kib("VmHWM") / 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mib = self._sampled / 2**20

    def _reset(self):
        try:
            self.CLEAR_REFS.write_text("5")
            return self._status_kib("VmHWM") is not None
        except OSError:
            return False

    def _status_kib(self, key):
        for line in self.STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return None

    def _sample(self):
        while not self._stop.wait(0.01):
            self._sampled = max(self._sampled, self._process.memory_info().rss)


def current_rss_mib():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def summarize(seconds, samples, peaks):
    """The report of one pipeline from its per-round epoch `seconds` and RSS `peaks`."""
    median = statistics.median(seconds)
    return {"seconds_per_epoch": median, "samples_per_s": samples / median,
            "rounds_seconds": [round(s, 2) for s in seconds], "peak_rss_mib": max(peaks)}


def ratios(pipelines):
    """Speed-ups of ours (epoch seconds of the other / ours), and whether each meets its bar."""
    ours = pipelines["ours"]["seconds_per_epoch"]
    result = {}
    for key, other in (("ours_vs_keras", "keras"), ("ours_vs_pytorch", "pytorch")):
        theirs = pipelines.get(other, {}).get("seconds_per_epoch")
        speedup = None if theirs is None else theirs / ours
        result[key] = {"speedup": speedup, "bar": BARS[key],
                       "meets_bar": None if speedup is None else speedup >= BARS[key]}
    same_threads = pipelines.get("keras-same-threads", {}).get("seconds_per_epoch")
    if same_threads is not None:  # for information: the bar is against the plain reference
        result["ours_vs_keras_same_threads"] = {"speedup": same_threads / ours, "bar": None, "meets_bar": None}
    return result


def skipped_pytorch(reason):
    """The pytorch entry of the report when it did not run."""
    return {"skipped": reason}


# ---------------------------------------------------------------------------------------
# The pipelines.


def keras_reference(vocabulary, settings):
    """(TextVectorization padding to max_length, compiled plain Keras model)."""
    import keras

    from sentiment_lstm import text

    vectorizer = keras.layers.TextVectorization(
        max_tokens=settings.max_tokens, standardize=text.standardize, output_mode="int",
        output_sequence_length=settings.max_length, vocabulary=vocabulary)
    tokens = keras.Input(shape=(settings.max_length,), dtype="int32")
    x = keras.layers.Embedding(len(vocabulary), settings.embed_dim, mask_zero=True)(tokens)
    x = keras.layers.SpatialDropout1D(settings.embedding_dropout)(x)
    x = keras.layers.LSTM(settings.units, dropout=settings.dropout,
                          recurrent_dropout=settings.recurrent_dropout)(x)
    x = keras.layers.Dropout(settings.dense_dropout)(x)
    probabilities = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(tokens, probabilities, name="keras_reference")
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return vectorizer, model


def fixed_length_dataset(reviews, vectorizer, settings):
    """The reference's tf.data pipeline: all reviews vectorized once to (N, max_length),
    shuffled each epoch, batched."""
    import numpy as np
    import tensorflow as tf

    texts = list(reviews.texts)
    tokens = np.concatenate([vectorizer(tf.constant(texts[k:k + 1024])).numpy()
                             for k in range(0, len(texts), 1024)]).astype("int32")
    labels = tf.one_hot(np.asarray(reviews.labels), 2, dtype=tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices((tokens, labels))
    dataset = dataset.shuffle(len(texts), seed=settings.seed, reshuffle_each_iteration=True)
    return dataset.batch(settings.batch_size).prefetch(tf.data.AUTOTUNE)


def keras_epoch(model, dataset):
    with warnings.catch_warnings():  # bucketed datasets have no known length: expected
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        model.fit(dataset, epochs=1, verbose=0, shuffle=False)


def build(name, reviews, settings, args):
    """(run one epoch, run the warm-up, what the report says about the setup) of
    pipeline `name`, built in this process."""
    from sentiment_lstm import model, text, training

    if name in ("ours", "keras-same-threads"):
        training.set_threads(settings.intra_op_threads)  # as train.py, before TensorFlow's first op
    import tensorflow as tf

    training.seed_everything(settings.seed, settings.deterministic)
    vectorizer = text.make_vectorizer(reviews.texts, max_tokens=settings.max_tokens)
    vocabulary = vectorizer.get_vocabulary()
    setup = {"vocabulary_size": len(vocabulary), "tensorflow_intra_op_threads":
             tf.config.threading.get_intra_op_parallelism_threads() or f"default ({os.cpu_count()} cores)"}
    warm = args.warmup_batches
    if name in ("keras", "keras-same-threads"):
        reference_vectorizer, reference = keras_reference(vocabulary, settings)
        dataset = fixed_length_dataset(reviews, reference_vectorizer, settings)
        return (lambda: keras_epoch(reference, dataset)), (lambda: keras_epoch(reference, dataset.take(warm))), setup
    ours_ds = text.make_dataset(reviews, vectorizer, batch_size=settings.batch_size,
                                max_length=settings.max_length, shuffle=True, seed=settings.seed,
                                bucket=settings.bucket)
    if name == "ours":
        ours = model.build_token_model(len(vocabulary), settings)
        return (lambda: keras_epoch(ours, ours_ds)), (lambda: keras_epoch(ours, ours_ds.take(warm))), setup

    from benchmarks import torch_lstm

    torch, reason = torch_lstm.availability()
    if torch is None:
        raise UserError(f"PyTorch is not available: {reason}")
    batches = [(x.numpy(), y.numpy()) for x, y in ours_ds]  # one epoch of our batches
    trainer = torch_lstm.TorchLSTMTrainer(len(vocabulary), settings, threads=args.threads, seed=settings.seed)
    setup.update(batches_ours=len(batches), torch_version=torch.__version__, torch_intra_op_threads=trainer.threads,
                 torch_note=f"torch.set_num_threads({args.threads}); the machine has {os.cpu_count()} cores")
    return (lambda: trainer.train_epoch(batches)), (lambda: trainer.train_epoch(batches[:warm])), setup


def worker(name, args, settings):
    """One pipeline's process: build and warm up, say `ready`, then run one epoch for
    each `epoch` line read from stdin, answering each with one JSON line."""
    reviews = load(args, settings)
    epoch, warm_up, setup = build(name, reviews, settings, args)
    start = time.perf_counter()
    warm_up()
    _say({"ready": True, "setup": setup, "warmup_seconds": time.perf_counter() - start,
          "resident_before_mib": current_rss_mib()})
    for line in sys.stdin:
        if line.strip() != "epoch":
            break
        with PeakRSS() as rss:
            start = time.perf_counter()
            epoch()
            seconds = time.perf_counter() - start
        _say({"seconds": seconds, "peak_rss_mib": rss.peak_mib})


PROTOCOL = "@epoch_speed "  # marks the worker's messages among whatever else it prints


def _say(message):
    print(PROTOCOL + json.dumps(message), flush=True)


class Pipeline:
    """The parent's handle on one worker process."""

    def __init__(self, name, argv):
        self.name = name
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", name, *argv],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def read(self):
        """The worker's next message; what else it prints is passed on."""
        for line in self.process.stdout:
            if line.startswith(PROTOCOL):
                return json.loads(line[len(PROTOCOL):])
            print(f"{self.name}: {line}", end="", flush=True)
        status = self.process.wait()
        raise UserError(f"The {self.name} pipeline's process stopped (exit status {status}); "
                        "its error is printed above.")

    def epoch(self):
        self.process.stdin.write("epoch\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait()


def measure(names, argv, samples, rounds):
    """Start a worker per pipeline, wait until all are warm, then `rounds` interleaved
    epochs; ({name: summary}, {name: setup})."""
    pipelines = [Pipeline(name, argv) for name in names]
    try:
        setups = {}
        for pipeline in pipelines:
            ready = pipeline.read()
            setups[pipeline.name] = {**ready["setup"], "warmup_seconds": round(ready["warmup_seconds"], 1),
                                     "resident_before_mib": ready["resident_before_mib"]}
            print(f"{pipeline.name}: ready (warm-up {ready['warmup_seconds']:.1f} s)", flush=True)
        seconds = {name: [] for name in names}
        peaks = {name: [] for name in names}
        for k in range(rounds):
            for pipeline in pipelines:
                result = pipeline.epoch()
                seconds[pipeline.name].append(result["seconds"])
                peaks[pipeline.name].append(result["peak_rss_mib"])
                print(f"round {k + 1}/{rounds} {pipeline.name}: {result['seconds']:.1f} s "
                      f"({samples / result['seconds']:.0f} samples/s), peak RSS {result['peak_rss_mib']:.0f} MiB",
                      flush=True)
    finally:
        for pipeline in pipelines:
            pipeline.close()
    return {name: summarize(seconds[name], samples, peaks[name]) for name in names}, setups


# ---------------------------------------------------------------------------------------
# The command.


def make_parser():
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=config.parse_type("limit"),
                        help="training reviews, balanced (default: all 25,000)")
    parser.add_argument("--quick", action="store_true", help=f"same as --limit {QUICK_LIMIT}")
    parser.add_argument("--rounds", type=positive_int, default=1,
                        help="interleaved epochs of each pipeline; medians are reported "
                             "(default: %(default)s)")
    parser.add_argument("--warmup-batches", type=positive_int, default=10,
                        help="batches each pipeline trains on before timing (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count(),
                        help="PyTorch intra-op threads (default: the machine's cores, %(default)s)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--no-keras-same-threads", action="store_true",
                        help="leave out the Keras reference run with our thread setting")
    parser.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)  # one pipeline's process
    parser.add_argument("--deterministic", action=argparse.BooleanOptionalAction,
                        default=config.Config().deterministic,
                        help="TensorFlow op determinism, as train.py's default (both Keras pipelines)")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out", help="the JSON report (default: benchmarks/results/epoch_speed.json, "
                                      "or benchmarks/out/epoch_speed.json with --limit/--quick)")
    return parser


def load(args, settings):
    """The training reviews the benchmark reads (`--data`, or the local copy found)."""
    from sentiment_lstm import data

    source = data.resolve_source(args.data)
    if source == "tfds" and args.data is None:
        raise UserError("No local copy of IMDB was found; pass --data PATH to aclImdb_v1.tar.gz "
                        "or an aclImdb/ folder.")
    return data.load_reviews(source, "train", limit=settings.limit, seed=settings.seed)


def worker_argv(args, limit):
    """The flags each worker process gets: those that shape its pipeline."""
    argv = ["--warmup-batches", str(args.warmup_batches), "--threads", str(args.threads),
            "--deterministic" if args.deterministic else "--no-deterministic"]
    return argv + (["--limit", str(limit)] if limit is not None else []) + (["--data", args.data] if args.data else [])


def main(argv=None):
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    limit = args.limit if args.limit is not None else (QUICK_LIMIT if args.quick else None)
    settings = config.Config(limit=limit, deterministic=args.deterministic)
    if args.worker:
        return worker(args.worker, args, settings)
    out = Path(args.out) if args.out else (DEFAULT_OUT if limit is None else QUICK_OUT)
    reviews = load(args, settings)  # a bad --data fails here, before any worker starts

    from benchmarks import torch_lstm

    names = ["ours", "keras"] + ([] if args.no_keras_same_threads else ["keras-same-threads"])
    torch, reason = (None, "--no-torch was given") if args.no_torch else torch_lstm.availability()
    if torch is None:
        print(f"pytorch: skipped: {reason}", flush=True)
    else:
        names.append("pytorch")
    print(f"epoch speed: {len(reviews)} training reviews, batch {settings.batch_size}, "
          f"{args.rounds} round(s), pipelines: {', '.join(names)}", flush=True)
    pipelines, setup = measure(names, worker_argv(args, limit), len(reviews), args.rounds)
    if torch is None:
        pipelines["pytorch"] = skipped_pytorch(reason)
    report_ratios = ratios(pipelines)

    from benchmarks.environment import describe, write_json

    report = {
        "benchmark": "epoch_speed",
        "settings": {"reviews": len(reviews), "limit": limit, "rounds": args.rounds,
                     "warmup_batches": args.warmup_batches, "data": args.data,
                     "hyperparameters": dataclasses.asdict(settings),
                     "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                     "command": " ".join(["python", "benchmarks/epoch_speed.py",
                                          *(sys.argv[1:] if argv is None else argv)])},
        "setup": setup,
        "pipelines": pipelines,
        "ratios": report_ratios,
        "definitions": {
            "seconds_per_epoch": "median over rounds of the wall time of one epoch over all "
                                 "reviews (model.fit(epochs=1) / the PyTorch loop), after warm-up",
            "samples_per_s": "reviews / seconds_per_epoch",
            "speedup": "the other pipeline's seconds_per_epoch / ours",
            "peak_rss_mib": "peak RSS of the pipeline's own process during its epochs; its data "
                            "and model are resident before (setup: resident_before_mib)",
        },
        **describe(),
    }
    write_json(out, report)
    print()
    for name in PIPELINES:
        entry = pipelines.get(name)
        if entry is None:
            continue
        if "skipped" in entry:
            print(f"{name:18s} skipped: {entry['skipped']}")
        else:
            print(f"{name:18s} {entry['seconds_per_epoch']:8.1f} s/epoch {entry['samples_per_s']:8.0f} "
                  f"samples/s  peak RSS {entry['peak_rss_mib']:.0f} MiB")
    for key, value in report_ratios.items():
        if value["speedup"] is not None:
            verdict = "" if value["bar"] is None else (
                " (meets the bar of {:g}x)" if value["meets_bar"] else " (misses the bar of {:g}x)").format(value["bar"])
            print(f"{key}: {value['speedup']:.2f}x{verdict}")
    print(f"wrote {out}")


if __name__ == "__main__":
    cli.run(main)
