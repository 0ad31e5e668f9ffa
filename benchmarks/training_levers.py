"""Where our training step's time goes, and what each lever saves: milliseconds per batch.

    python benchmarks/training_levers.py                      # -> benchmarks/results/training_levers.json
    python benchmarks/training_levers.py --intra-op-threads 0 # the same with TensorFlow's default threads

Our model with train.py's defaults (`Config()`), trained by `model.fit` on the same
`--batches` token batches of our pipeline (`pipeline.make_dataset` over `--limit` training
reviews: length buckets, batch 64), one variant after another in each of `--rounds`
rounds, in one process (train.py's thread setting unless `--intra-op-threads`):

    default           train.py's model and Adam
    frozen-embedding  the embedding not trained: no embedding gradient, no Adam update of
                      its 20,000 x 64 table; the most any embedding lever can save
    lazy-adam         `--lazy-adam`: Adam updates only the embedding rows the batch uses
                      (changes training: see docs/results.md)
    no-recurrence     the LSTM replaced by a masked mean of the embeddings: what the step
                      costs besides the recurrence (data, embedding, softmax, optimizer)
    batch-128         train.py's model on batches of 128 of the same reviews (changes
                      training); its time is per 64 reviews, to compare

Reported: the median and min-max over rounds of milliseconds per 64 reviews, and each
variant's saving against the default.
"""
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentiment_lstm.core.checks import whole_number_argument  # noqa: E402
from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "training_levers.json"
VARIANTS = ("default", "frozen-embedding", "lazy-adam", "no-recurrence", "batch-128")


def build_variant(name, vocabulary_size, settings):
    """The compiled model of variant `name`."""
    import keras

    from sentiment_lstm.model import network, optimizer

    if name == "lazy-adam":
        return network.build_token_model(vocabulary_size, dataclasses.replace(settings, lazy_adam=True))
    if name == "no-recurrence":
        tokens = keras.Input(shape=(None,), dtype="int32")
        x = keras.layers.Embedding(vocabulary_size, settings.embed_dim, mask_zero=True, name="embedding")(tokens)
        x = keras.layers.SpatialDropout1D(settings.embedding_dropout)(x)
        x = keras.layers.GlobalAveragePooling1D()(x)  # masked mean
        x = keras.layers.Dropout(settings.dense_dropout)(x)
        probabilities = keras.layers.Dense(2, activation="softmax")(x)
        built = keras.Model(tokens, probabilities)
        built.compile(optimizer=optimizer.adam(settings), loss="categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=settings.steps_per_execution)
        return built
    built = network.build_token_model(vocabulary_size, settings)
    if name == "frozen-embedding":
        built.get_layer("embedding").trainable = False
        built.compile(optimizer=optimizer.adam(settings), loss="categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=settings.steps_per_execution)
    return built


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=config.parse_type("limit"), default=6400,
                        help="training reviews the batches come from (default: %(default)s)")
    parser.add_argument("--batches", type=whole_number_argument(), default=64,
                        help="batches of 64 per variant and round (default: %(default)s)")
    parser.add_argument("--rounds", type=whole_number_argument(), default=5, help="(default: %(default)s)")
    parser.add_argument("--intra-op-threads", type=int, default=config.Config().intra_op_threads,
                        help="TensorFlow intra-op threads (default: train.py's, %(default)s)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), metavar="NAME")
    parser.add_argument("--data", help="IMDB archive or aclImdb/ folder (default: found automatically)")
    parser.add_argument("--out", help="the JSON report (default: benchmarks/results/training_levers.json)")
    args = parser.parse_args(argv)

    from sentiment_lstm.data import imdb
    from sentiment_lstm.text import pipeline, tokenizer
    from sentiment_lstm.training import loop

    loop.set_threads(args.intra_op_threads)
    import tensorflow as tf

    settings = config.Config(limit=args.limit)
    reviews = imdb.load_reviews(imdb.resolve_source(args.data), "train", limit=settings.limit, seed=settings.seed)
    loop.seed_everything(settings.seed, settings.deterministic)
    vectorizer = tokenizer.make_vectorizer(reviews.texts, max_tokens=settings.max_tokens)
    vocabulary_size = vectorizer.vocabulary_size()

    def fixed_batches(batch_size, count):
        dataset = pipeline.make_dataset(reviews, vectorizer, batch_size=batch_size, max_length=settings.max_length,
                                    shuffle=True, seed=settings.seed)
        cached = dataset.take(count).cache()
        for _ in cached:  # fill the cache: the timed epochs only read it
            pass
        return cached

    datasets = {64: fixed_batches(64, args.batches), 128: fixed_batches(128, args.batches // 2)}
    reviews_timed = {size: sum(int(x.shape[0]) for x, _ in ds) for size, ds in datasets.items()}
    models = {}
    for name in args.variants:
        size = 128 if name == "batch-128" else 64
        keras_settings = dataclasses.replace(settings, batch_size=size)
        models[name] = build_variant(name, vocabulary_size, keras_settings)
        models[name].fit(datasets[size].take(16), epochs=1, verbose=0)  # trace, warm up
    per_64 = {name: [] for name in args.variants}
    for k in range(args.rounds):
        for name, built in models.items():
            size = 128 if name == "batch-128" else 64
            start = time.perf_counter()
            built.fit(datasets[size], epochs=1, verbose=0)
            per_64[name].append((time.perf_counter() - start) * 1000 / reviews_timed[size] * 64)
        print(f"round {k + 1}/{args.rounds}: " + ", ".join(f"{n} {v[-1]:.1f}" for n, v in per_64.items()),
              flush=True)
    default = statistics.median(per_64["default"]) if "default" in per_64 else None
    results = {}
    for name, times in per_64.items():
        median = statistics.median(times)
        results[name] = {"ms_per_64_reviews": round(median, 2), "min_max": [round(min(times), 2), round(max(times), 2)],
                         "saving_ms": None if default is None else round(default - median, 2),
                         "speedup": None if default is None else round(default / median, 3)}
        print(f"{name:18s} {median:7.1f} ms per 64 reviews  (rounds {min(times):.1f}-{max(times):.1f})"
              + ("" if default is None else f"  {default / median:.2f}x the default"))

    from benchmarks.environment import describe, write_json

    out = Path(args.out) if args.out else DEFAULT_OUT
    write_json(out, {
        "benchmark": "training_levers",
        "settings": {**{key: value for key, value in vars(args).items() if key != "out"},
                     "reviews_timed": reviews_timed,
                     "tensorflow_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                     "command": " ".join(["python", "benchmarks/training_levers.py",
                                          *(sys.argv[1:] if argv is None else argv)])},
        "results": results,
        **describe(),
    })
    print(f"wrote {out}")


if __name__ == "__main__":
    cli.run(main)
