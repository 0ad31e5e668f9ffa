"""Where a model's serving time goes: the parts of `serving.probabilities_fn`, timed apart.

    python benchmarks/serving_parts.py /work/models/best_1epoch

On the benchmark's 2,000 test reviews (`serving.benchmark_reviews`), for one batch of
256 (sorted into groups as serving does) and for one median-length review, medians of
`--repeats` calls of each part, each its own `tf.function`:

    tokenize     the vectorizer (and clip), the batch padded to its longest review
    features     what serving feeds the recurrent layer, per group: where the model
                 folds (`folding.py`), `FoldedInputs` (the word table's rows, the n-gram
                 hash lookups and their product with W_ngrams); else the token model up
                 to the recurrent layer's input (embeddings, n-gram lookups, concatenation)
    recurrence   the recurrent layer alone on those features (projected where folded)
    token model  serving's forward pass of a group (the fold's, or the token model's)
    serve        the whole serving function

Writes `--out` (default `benchmarks/results/serving_parts.json`) with `environment.describe()`.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import environment  # noqa: E402
from benchmarks.serving import benchmark_reviews  # noqa: E402


def median_ms(function, arguments, repeats):
    """The median wall time of `function(*arguments)`, in ms, after one call."""
    arguments = arguments if isinstance(arguments, tuple) else (arguments,)
    function(*arguments)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*arguments)
        for tensor in result if isinstance(result, (list, tuple)) else [result]:
            tensor.numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def groups(lengths, group=256):
    """The row groups `serving.probabilities_fn` forms from sorted `lengths` (descending)."""
    start, found = 0, []
    while start < len(lengths):
        size = int(np.sum(2 * lengths[start:start + group] >= lengths[start]))
        found.append((start, size, max(int(lengths[start]), 1)))
        start += size
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serving_parts.json"))
    args = parser.parse_args(argv)

    from sentiment_lstm.data import imdb
    from sentiment_lstm.inference import folding, serving
    from sentiment_lstm.core import startup

    tf = startup.import_tensorflow()
    import keras

    import sentiment_lstm

    classifier = sentiment_lstm.load(args.model_dir)
    end_to_end = classifier.model
    token_model = end_to_end.get_layer("token_model")
    recurrent = token_model.get_layer("recurrent_0")
    tokenization = [layer for layer in end_to_end.layers
                    if layer is not token_model and not isinstance(layer, keras.layers.InputLayer)]
    inputs = recurrent.input  # the features (and, where Keras lists it, their mask)
    features_model = keras.Model(token_model.input, inputs[0] if isinstance(inputs, (list, tuple)) else inputs)

    def tokenize(texts):
        tokens = texts
        for layer in tokenization:
            tokens = layer(tokens)
        return tokens

    tokenize_fn = tf.function(tokenize)
    folded = folding.fold(token_model)
    if folded is not None:  # what serving runs
        folded_inputs = folded.resources[0]
        features_fn = tf.function(lambda tokens: folded_inputs(tokens))
        recurrence_fn = tf.function(lambda x, mask: recurrent(x, mask=mask, training=False, projected=True))
        token_fn = tf.function(folded)
    else:
        features_fn = tf.function(lambda tokens: tf.identity(features_model(tokens, training=False)))  # no mask
        recurrence_fn = tf.function(lambda x, mask: recurrent(x, mask=mask, training=False))
        token_fn = tf.function(lambda tokens: token_model(tokens, training=False))
    serve_fn = tf.function(serving.probabilities_fn(end_to_end), input_signature=[serving.SIGNATURE])

    reviews = benchmark_reviews(imdb.resolve_source(None))
    batch = tf.constant(reviews[:256])
    tokens = tokenize_fn(batch).numpy()
    lengths = np.count_nonzero(tokens, axis=1)
    order = np.argsort(-lengths, kind="stable")
    sorted_tokens, sorted_lengths = tokens[order], lengths[order]
    found = groups(sorted_lengths)
    parts = {"tokenize": median_ms(tokenize_fn, batch, args.repeats), "features": 0.0, "recurrence": 0.0,
             "token model": 0.0}
    for start, size, width in found:
        rows = tf.constant(sorted_tokens[start:start + size, :width])
        x = features_fn(rows)
        parts["features"] += median_ms(features_fn, rows, args.repeats)
        parts["recurrence"] += median_ms(recurrence_fn, (x, tf.not_equal(rows, 0)), args.repeats)
        parts["token model"] += median_ms(token_fn, rows, args.repeats)
    parts["serve"] = median_ms(serve_fn, batch, args.repeats)
    median = int(np.argsort(lengths)[len(lengths) // 2])
    one = tf.constant([reviews[median]])
    one_tokens = tokenize_fn(one)
    one_x = features_fn(one_tokens)
    single = {"tokens": int(lengths[median]),
              "tokenize": median_ms(tokenize_fn, one, 5 * args.repeats),
              "features": median_ms(features_fn, one_tokens, 5 * args.repeats),
              "recurrence": median_ms(recurrence_fn, (one_x, tf.not_equal(one_tokens, 0)), 5 * args.repeats),
              "token model": median_ms(token_fn, one_tokens, 5 * args.repeats),
              "serve": median_ms(serve_fn, one, 5 * args.repeats),
              "load().predict": median_ms(lambda texts: [tf.constant(0)] if classifier.predict(
                  [t.decode() for t in texts.numpy()]) else [], one, 5 * args.repeats)}
    report = {"environment": environment.describe(), "model_dir": args.model_dir, "folded": folded is not None,
              "load_average_1min": round(os.getloadavg()[0], 2),
              "batch": {"reviews": 256, "tokens": int(lengths.sum()), "padded_to": int(tokens.shape[1]),
                        "groups": [{"rows": size, "width": width} for _, size, width in found], "ms": parts},
              "single_review_ms": single}
    environment.write_json(args.out, report)
    print(f"batch of 256 ({int(lengths.sum())} tokens, longest {tokens.shape[1]}; groups "
          f"{[(size, width) for _, size, width in found]}):")
    for name, ms in parts.items():
        print(f"  {name:12s} {ms:8.1f} ms")
    print(f"one review of {single['tokens']} tokens:")
    for name, ms in single.items():
        if name != "tokens":
            print(f"  {name:15s} {ms:8.2f} ms")
    print(f"load average {report['load_average_1min']}; written to {args.out}")


if __name__ == "__main__":
    main()
