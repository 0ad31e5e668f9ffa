"""Seconds per training epoch on IMDB: our pipeline, the plain Keras reference, PyTorch and JAX.

    python benchmarks/epoch_speed.py                # 25,000 training reviews -> benchmarks/results/epoch_speed.json
    python benchmarks/epoch_speed.py --limit 2000   # a quick slice -> benchmarks/out/epoch_speed.json
    python benchmarks/epoch_speed.py --rounds 3     # three interleaved epochs each, medians

One epoch over the training reviews (all of them: no validation pass), each pipeline
with train.py's default hyperparameters (`Config()`: vocabulary 20,000, 200 tokens,
embedding 64, 64 units, embedding dropout 0.2, dense dropout 0.3, Adam 1e-3, batch 64,
op determinism on):

    ours        train.py's pipeline: `pipeline.make_dataset` (length buckets, each batch padded
                to its bucket), `network.build_token_model(vocab, Config())` with the
                project's LSTM layer, and train.py's thread setting
                (`loop.set_threads(Config().intra_op_threads)`, or `--intra-op-threads`)
    keras       the plain Keras reference: TextVectorization with the project's
                `standardize` and `output_sequence_length=200` (every batch padded to 200),
                Embedding(mask_zero) -> SpatialDropout1D -> keras.layers.LSTM -> Dropout ->
                Dense(2, softmax), same sizes and optimiser, TensorFlow's default threads
    keras-same-threads
                the same reference with our thread setting, to show what that setting
                does for it (`--no-keras-same-threads` leaves it out)
    pytorch     nn.LSTM over `pack_padded_sequence` (benchmarks/torch_lstm.py)
    pytorch-unpacked
                nn.LSTM over the whole padded batch, each row's state read at its last
                valid step with a gather: the same function, padding computed and not read
    pytorch-compiled
                the unpacked model under `torch.compile`
    keras-jax   the reference's model (keras.layers.LSTM) on the JAX backend, jit-compiled
    ours-jax    `network.build_token_model` (our LSTM layer) on the JAX backend, jit-compiled

The pytorch* and *-jax pipelines train on the very token batches of our pipeline (one
epoch's worth, taken from it beforehand and saved to a temporary .npz), the same epoch
each round; they are skipped, with the reason, when PyTorch or JAX is not installed. The
jit-compiled ones are warmed up on one batch of every batch shape as well, so no
compilation falls in a timed epoch.

Each pipeline runs in its own process (TensorFlow's thread settings are fixed per
process, the Keras backend too), on the same reviews and vocabulary; the processes take
turns and only one trains at a time. Each first trains on `--warmup-batches` batches
(tracing, allocation); then `--rounds` rounds run one epoch of each pipeline in turn, so
background load hits them alike; reported: the median seconds per epoch, samples/s,
the speed-ups of ours against each other pipeline (bars: >= 3x the Keras reference,
>= 2x the fastest of the other frameworks' pipelines), and the peak RSS of each
pipeline's process during its epochs.
"""
import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as train.py
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentiment_lstm.core.checks import whole_number_argument  # noqa: E402
from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config
from sentiment_lstm.core.errors import UserError  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "epoch_speed.json"
QUICK_OUT = ROOT / "benchmarks" / "out" / "epoch_speed.json"
QUICK_LIMIT = 2000
BARS = {"ours_vs_keras": 3.0, "ours_vs_pytorch": 1.0, "ours_vs_fastest_peer": 2.0}
TORCH_PIPELINES = {"pytorch": "packed", "pytorch-unpacked": "unpacked", "pytorch-compiled": "compiled"}
JAX_PIPELINES = ("keras-jax", "ours-jax")
PIPELINES = ("ours", "keras", "keras-same-threads", *TORCH_PIPELINES, *JAX_PIPELINES)
BATCH_FED = (*TORCH_PIPELINES, *JAX_PIPELINES)  # trained on our batches, saved beforehand
PEERS = ("keras", *TORCH_PIPELINES, "keras-jax")  # the other frameworks' pipelines


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
            "rounds_seconds": [round(s, 2) for s in seconds],
            "samples_per_s_min_max": [samples / max(seconds), samples / min(seconds)], "peak_rss_mib": max(peaks)}


def ratios(pipelines):
    """Speed-ups of ours (epoch seconds of the other / ours), and whether each meets its bar.

    `ours_vs_keras` and `ours_vs_pytorch` are always there (speedup None when skipped);
    the other pipelines that ran get `ours_vs_<name>` (without a bar), and with any of
    `PEERS` besides the Keras reference, `ours_vs_fastest_peer` names the fastest of
    `PEERS` and has the bar of 2x.
    """
    ours = pipelines["ours"]["seconds_per_epoch"]
    seconds = {name: entry["seconds_per_epoch"] for name, entry in pipelines.items()
               if "seconds_per_epoch" in entry}

    def entry(key, other):
        speedup = seconds[other] / ours if other in seconds else None
        bar = BARS.get(key)
        return {"speedup": speedup, "bar": bar,
                "meets_bar": None if speedup is None or bar is None else speedup >= bar}

    result = {"ours_vs_keras": entry("ours_vs_keras", "keras"), "ours_vs_pytorch": entry("ours_vs_pytorch", "pytorch")}
    for name in PIPELINES[1:]:  # for information: the bars are against the reference and the fastest peer
        if name not in ("keras", "pytorch") and name in seconds:
            result["ours_vs_" + name.replace("-", "_")] = entry(None, name)
    if any(name in seconds for name in PEERS if name not in ("keras", "pytorch")):
        fastest = min((name for name in PEERS if name in seconds), key=seconds.get)
        result["ours_vs_fastest_peer"] = {**entry("ours_vs_fastest_peer", fastest), "peer": fastest}
    return result


def skipped_pytorch(reason):
    """The pytorch entry of the report when it did not run."""
    return {"skipped": reason}


def jax_availability():
    """`(True, None)` when JAX imports, else `(False, reason)` with one sentence."""
    try:
        import jax  # noqa: F401
    except ImportError as error:
        return False, f"JAX is not installed ({error}), so the JAX pipelines are skipped."
    return True, None


# ---------------------------------------------------------------------------------------
# The pipelines.


def keras_reference(vocabulary, settings):
    """(TextVectorization padding to max_length, compiled plain Keras model)."""
    import keras

    from sentiment_lstm.text import tokenizer

    vectorizer = keras.layers.TextVectorization(
        max_tokens=settings.max_tokens, standardize=tokenizer.standardize, output_mode="int",
        output_sequence_length=settings.max_length, vocabulary=vocabulary)
    return vectorizer, reference_model(len(vocabulary), settings, settings.max_length)


def reference_model(vocabulary_size, settings, length=None, **compile_options):
    """The plain Keras model of the reference, compiled: Embedding(mask_zero) ->
    SpatialDropout1D -> keras.layers.LSTM -> Dropout -> Dense(2, softmax), Adam."""
    import keras

    tokens = keras.Input(shape=(length,), dtype="int32")
    x = keras.layers.Embedding(vocabulary_size, settings.embed_dim, mask_zero=True)(tokens)
    x = keras.layers.SpatialDropout1D(settings.embedding_dropout)(x)
    x = keras.layers.LSTM(settings.units, dropout=settings.dropout,
                          recurrent_dropout=settings.recurrent_dropout)(x)
    x = keras.layers.Dropout(settings.dense_dropout)(x)
    probabilities = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(tokens, probabilities, name="keras_reference")
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"], **compile_options)
    return model


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
    from sentiment_lstm.model import network
    from sentiment_lstm.training import loop

    if name in ("ours", "keras-same-threads"):
        loop.set_threads(settings.intra_op_threads)  # as train.py, before TensorFlow's first op
    import tensorflow as tf

    ours_ds, vectorizer = our_dataset(reviews, settings)
    vocabulary = vectorizer.get_vocabulary()
    setup = {"vocabulary_size": len(vocabulary), "tensorflow_intra_op_threads":
             tf.config.threading.get_intra_op_parallelism_threads() or f"default ({os.cpu_count()} cores)"}
    warm = args.warmup_batches
    if name in ("keras", "keras-same-threads"):
        reference_vectorizer, reference = keras_reference(vocabulary, settings)
        dataset = fixed_length_dataset(reviews, reference_vectorizer, settings)
        return (lambda: keras_epoch(reference, dataset)), (lambda: keras_epoch(reference, dataset.take(warm))), setup
    ours = network.build_token_model(len(vocabulary), settings)
    return (lambda: keras_epoch(ours, ours_ds)), (lambda: keras_epoch(ours, ours_ds.take(warm))), setup


def our_dataset(reviews, settings):
    """(train.py's tf.data pipeline of token batches, its vectorizer), seeded as train.py."""
    from sentiment_lstm.text import pipeline, tokenizer
    from sentiment_lstm.training import loop

    loop.seed_everything(settings.seed, settings.deterministic)
    vectorizer = tokenizer.make_vectorizer(reviews.texts, max_tokens=settings.max_tokens)
    dataset = pipeline.make_dataset(reviews, vectorizer, batch_size=settings.batch_size,
                                max_length=settings.max_length, shuffle=True, seed=settings.seed,
                                bucket=settings.bucket)
    return dataset, vectorizer


def epoch_batches(reviews, settings):
    """(our pipeline's first epoch of `(tokens, labels)` batches as NumPy arrays, the
    vocabulary size): the batches the pytorch* and *-jax pipelines train on."""
    dataset, vectorizer = our_dataset(reviews, settings)
    return [(x.numpy(), y.numpy()) for x, y in dataset], vectorizer.vocabulary_size()


def save_batches(path, batches, vocabulary_size):
    import numpy as np

    arrays = {f"tokens_{k}": x for k, (x, _) in enumerate(batches)}
    arrays.update({f"labels_{k}": y for k, (_, y) in enumerate(batches)})
    np.savez(path, vocabulary_size=vocabulary_size, **arrays)


def load_batches(path):
    """(batches, vocabulary size) saved by `save_batches`."""
    import numpy as np

    with np.load(path) as saved:
        count = sum(key.startswith("tokens_") for key in saved.files)
        return [(saved[f"tokens_{k}"], saved[f"labels_{k}"]) for k in range(count)], int(saved["vocabulary_size"])


def warmup_batches(batches, count):
    """The first `count` batches, then one of each batch shape not among them: so a
    pipeline that compiles per shape has compiled them all before its timed epochs."""
    chosen, shapes = list(batches[:count]), {x.shape for x, _ in batches[:count]}
    for x, y in batches[count:]:
        if x.shape not in shapes:
            chosen.append((x, y))
            shapes.add(x.shape)
    return chosen


def build_batch_fed(name, batches, vocabulary_size, settings, args):
    """(run one epoch, run the warm-up, setup) of a pipeline that trains on `batches`:
    one of `TORCH_PIPELINES` or `JAX_PIPELINES`."""
    setup = {"vocabulary_size": vocabulary_size, "batches": len(batches),
             "batch_shapes": len({x.shape for x, _ in batches})}
    warm = warmup_batches(batches, args.warmup_batches)
    if name in TORCH_PIPELINES:
        from benchmarks import torch_lstm

        torch, reason = torch_lstm.availability()
        if torch is None:
            raise UserError(f"PyTorch is not available: {reason}")
        trainer = torch_lstm.TorchLSTMTrainer(vocabulary_size, settings, threads=args.threads,
                                              seed=settings.seed, mode=TORCH_PIPELINES[name])
        setup.update(torch_version=torch.__version__, torch_intra_op_threads=trainer.threads,
                     torch_note=f"torch.set_num_threads({args.threads}); the machine has {os.cpu_count()} cores")
        return (lambda: trainer.train_epoch(batches)), (lambda: trainer.train_epoch(warm)), setup

    import jax
    import keras

    keras.utils.set_random_seed(settings.seed)
    if name == "keras-jax":
        trained = reference_model(vocabulary_size, settings, jit_compile=True)
    else:
        from sentiment_lstm.model import network, optimizer

        trained = network.build_token_model(vocabulary_size, settings)
        trained.compile(optimizer=optimizer.adam(settings), loss="categorical_crossentropy",
                        metrics=["accuracy"], jit_compile=True)
    setup.update(keras_backend=keras.backend.backend(), jax_version=jax.__version__,
                 jax_devices=[str(device) for device in jax.devices()],
                 note="jit-compiled train_on_batch per batch; warmed up on every batch shape")

    def train(chosen):
        for x, y in chosen:
            trained.train_on_batch(x, y)

    return (lambda: train(batches)), (lambda: train(warm)), setup


def worker(name, args, settings):
    """One pipeline's process: build and warm up, say `ready`, then run one epoch for
    each `epoch` line read from stdin, answering each with one JSON line."""
    if name in BATCH_FED:
        epoch, warm_up, setup = build_batch_fed(name, *load_batches(args.batches), settings, args)
    else:
        epoch, warm_up, setup = build(name, load(args, settings), settings, args)
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
        env = {**os.environ, "KERAS_BACKEND": "jax" if name in JAX_PIPELINES else "tensorflow"}
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", name, *argv],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

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
    parser.add_argument("--rounds", type=whole_number_argument(), default=1,
                        help="interleaved epochs of each pipeline; medians are reported "
                             "(default: %(default)s)")
    parser.add_argument("--warmup-batches", type=whole_number_argument(), default=10,
                        help="batches each pipeline trains on before timing (default: %(default)s)")
    parser.add_argument("--threads", type=whole_number_argument(), default=os.cpu_count(),
                        help="PyTorch intra-op threads (default: the machine's cores, %(default)s)")
    parser.add_argument("--pipelines", nargs="+", choices=PIPELINES, default=list(PIPELINES), metavar="NAME",
                        help=f"the pipelines to run, of {' '.join(PIPELINES)} (default: all; ours always runs)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--no-jax", action="store_true", help="leave the JAX pipelines out")
    parser.add_argument("--no-keras-same-threads", action="store_true",
                        help="leave out the Keras reference run with our thread setting")
    parser.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)  # one pipeline's process
    parser.add_argument("--batches", help=argparse.SUPPRESS)  # a batch-fed worker's .npz
    parser.add_argument("--deterministic", action=argparse.BooleanOptionalAction,
                        default=config.Config().deterministic,
                        help="TensorFlow op determinism, as train.py's default (both Keras pipelines)")
    parser.add_argument("--intra-op-threads", type=config.parse_type("intra_op_threads"),
                        default=config.Config().intra_op_threads,
                        help="TensorFlow threads per op for ours, as train.py's flag (default: %(default)s)")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out", help="the JSON report (default: benchmarks/results/epoch_speed.json, "
                                      "or benchmarks/out/epoch_speed.json with --limit/--quick)")
    return parser


def load(args, settings):
    """The training reviews the benchmark reads (`--data`, or the local copy found)."""
    from sentiment_lstm.data import imdb

    source = imdb.resolve_source(args.data)
    if source == "tfds" and args.data is None:
        raise UserError("No local copy of IMDB was found; pass --data PATH to aclImdb_v1.tar.gz "
                        "or an aclImdb/ folder.")
    return imdb.load_reviews(source, "train", limit=settings.limit, seed=settings.seed)


def worker_argv(args, limit, batches=None):
    """The flags each worker process gets: those that shape its pipeline."""
    argv = ["--warmup-batches", str(args.warmup_batches), "--threads", str(args.threads),
            "--intra-op-threads", str(args.intra_op_threads),
            "--deterministic" if args.deterministic else "--no-deterministic"]
    argv += ["--batches", str(batches)] if batches else []
    return argv + (["--limit", str(limit)] if limit is not None else []) + (["--data", args.data] if args.data else [])


def chosen_pipelines(args):
    """(the pipelines to run, in order, {skipped pipeline: why})."""
    from benchmarks import torch_lstm

    wanted = ["ours", *(name for name in PIPELINES[1:] if name in args.pipelines)]
    skipped = {}
    torch, torch_reason = (None, "--no-torch was given") if args.no_torch else torch_lstm.availability()
    jax, jax_reason = (False, "--no-jax was given") if args.no_jax else jax_availability()
    for name in wanted:
        if name in TORCH_PIPELINES and torch is None:
            skipped[name] = torch_reason
        elif name in JAX_PIPELINES and not jax:
            skipped[name] = jax_reason
        elif name == "keras-same-threads" and args.no_keras_same_threads:
            skipped[name] = "--no-keras-same-threads was given"
    return [name for name in wanted if name not in skipped], skipped


def main(argv=None):
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    limit = args.limit if args.limit is not None else (QUICK_LIMIT if args.quick else None)
    settings = config.Config(limit=limit, deterministic=args.deterministic, intra_op_threads=args.intra_op_threads)
    if args.worker:
        return worker(args.worker, args, settings)
    out = Path(args.out) if args.out else (DEFAULT_OUT if limit is None else QUICK_OUT)
    reviews = load(args, settings)  # a bad --data fails here, before any worker starts

    names, skipped = chosen_pipelines(args)
    for name, reason in skipped.items():
        print(f"{name}: skipped: {reason}", flush=True)
    print(f"epoch speed: {len(reviews)} training reviews, batch {settings.batch_size}, "
          f"{args.rounds} round(s), pipelines: {', '.join(names)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="epoch_speed_") as scratch:
        batches = None
        if any(name in BATCH_FED for name in names):
            batches = Path(scratch) / "batches.npz"
            save_batches(batches, *epoch_batches(reviews, settings))
        pipelines, setup = measure(names, worker_argv(args, limit, batches), len(reviews), args.rounds)
    pipelines.update({name: skipped_pytorch(reason) for name, reason in skipped.items()})
    if "pytorch" not in pipelines:
        pipelines["pytorch"] = skipped_pytorch("not among --pipelines")
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
            peer = f" ({value['peer']})" if "peer" in value else ""
            print(f"{key}{peer}: {value['speedup']:.2f}x{verdict}")
    print(f"wrote {out}")


if __name__ == "__main__":
    cli.run(main)
