"""What `--lazy-adam` saves per training step, with bigram and trigram tables.

    python benchmarks/lazy_adam.py      # -> benchmarks/results/lazy_adam.json

Times Keras' training step (`train_on_batch`: forward, gradients, optimizer) of the
best recipe's model (embedding 128, bigram vectors of 16, 64 units, its dropouts)
with and without trigram vectors of 16, each with Keras' Adam and with `LazyAdam`,
on the same batches of `--batch` reviews of `--length` random tokens (the training
thread setting of train.py). The n-gram tables have the full-data sizes (491,073
bigrams, 699,442 trigrams); every n-gram of the batches is among the kept ones, so
each step touches as many table rows as it can, the least favourable case for lazy
updates. The four models take turns, `--steps` steps each per round; reported: the
median milliseconds per step over `--rounds` rounds, and Adam / LazyAdam.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import environment  # noqa: E402
from sentiment_lstm.model import network  # noqa: E402
from sentiment_lstm.model import ngrams
from sentiment_lstm.training import loop
from sentiment_lstm.core.config import Config  # noqa: E402

VOCABULARY = 20000
TABLE_SIZES = {2: 491_073, 3: 699_442}  # n-grams of 3 or more of the 72,500 texts, full data
RECIPE = dict(max_length=400, embed_dim=128, dropout=0.6, embedding_dropout=0.5, dense_dropout=0.6,
              learning_rate=2e-4, bigram_dim=16)


def table_keys(batches, order, size, rng):
    """`size` sorted keys: every n-gram of `batches`, then random ones."""
    seen = np.concatenate([ngrams.step_keys(tf.RaggedTensor.from_tensor(batch), VOCABULARY, order)[2]
                           for batch in batches])
    seen = np.unique(seen)[:size]
    extra = np.setdiff1d(rng.integers(0, VOCABULARY ** order, 2 * size), seen)
    return np.union1d(seen, rng.permutation(extra)[:size - len(seen)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=230, help="tokens per review (IMDB's median is ~230)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(environment.ROOT / "benchmarks" / "results" / "lazy_adam.json"),
                        help="the JSON report (default: benchmarks/results/lazy_adam.json)")
    args = parser.parse_args()
    loop.set_threads(Config().intra_op_threads)
    rng = np.random.default_rng(0)
    batches = [rng.integers(2, VOCABULARY, (args.batch, args.length)) for _ in range(args.steps)]
    targets = np.eye(2)[rng.integers(0, 2, args.batch)]
    keys = {order: table_keys(batches, order, size, rng) for order, size in TABLE_SIZES.items()}

    models = {}
    for trigram_dim in (0, 16):
        for lazy in (False, True):
            config = Config(**RECIPE, trigram_dim=trigram_dim, lazy_adam=lazy)
            token_model = network.build_token_model(VOCABULARY, config, ngram_keys=keys)
            for batch in batches[:3]:
                token_model.train_on_batch(batch, targets)  # trace, allocate
            models[(trigram_dim, lazy)] = token_model
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, token_model in models.items():
            start = time.perf_counter()
            for batch in batches:
                token_model.train_on_batch(batch, targets)
            times[name].append((time.perf_counter() - start) / len(batches) * 1000)

    results = []
    print(f"ms per training step, {args.batch} x {args.length} tokens, median of {args.rounds} rounds:")
    for trigram_dim in (0, 16):
        adam, lazy = (statistics.median(times[(trigram_dim, flag)]) for flag in (False, True))
        inputs = "bigrams + trigrams" if trigram_dim else "bigrams"
        print(f"  {inputs:20s} Adam {adam:6.1f}  LazyAdam {lazy:6.1f}  ratio {adam / lazy:.2f}")
        results.append({"inputs": inputs, "adam_ms": adam, "lazy_adam_ms": lazy, "ratio": adam / lazy,
                        "adam_rounds_ms": times[(trigram_dim, False)],
                        "lazy_adam_rounds_ms": times[(trigram_dim, True)]})
    environment.write_json(args.out, {"environment": environment.describe(), "batch": args.batch,
                                      "length": args.length, "steps": args.steps, "rounds": args.rounds,
                                      "table_sizes": TABLE_SIZES, "results": results})


if __name__ == "__main__":
    main()
