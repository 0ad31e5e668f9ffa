"""Training throughput of the project's recurrent layers against Keras' built-ins.

Model: Embedding(20000, 128, mask_zero) -> RNN(64) -> Dense(2, softmax), Adam,
categorical cross-entropy; batch 64, 200 time steps. Every model trains on the same
token batches; the models take turns (one round of `--batches` steps each, repeated
`--rounds` times) after a warm-up, so background load hits them alike. Reported:
median samples/s per model and the ratio ours / Keras.

    python benchmarks/layer_throughput.py                     # TensorFlow backend
    KERAS_BACKEND=jax python benchmarks/layer_throughput.py   # JAX backend

Reports go to benchmarks/results/layer_throughput_<backend>.json unless `--out`.

Token lengths: seeded, uniform between 20 and 200, right-padded with 0 (the padding
is masked when the mask is on).

Also timed, per mask setting: the same model with no recurrent layer
(GlobalAveragePooling1D in its place). Its time per batch, mostly the embedding's
gradient and Adam's update of its 2.56M weights, is paid alike by every model, so
besides the whole-model ratio each row reports the ratio of the recurrent layer's
own share: `(keras - base) / (ours - base)` in seconds per batch.

`--autodiff` also times our LSTM with the hand-written backward pass off (the
autodiff of its forward loop): `fused.fusable`, which both the fused and the packed
training paths check, answers False while that model is built, traced and trained.
"""

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.environment import describe, write_json  # noqa: E402
from sentiment_lstm.rnn import fused, layers  # noqa: E402

KERAS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
OURS = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN}


def default_out():
    """Where the report goes, from the repository root: one file per Keras backend."""
    return Path("benchmarks", "results", f"layer_throughput_{keras.backend.backend()}.json")


def token_batches(count, batch, time_steps, vocab, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, time_steps + 1, size=(count, batch))
    tokens = rng.integers(2, vocab, size=(count, batch, time_steps)).astype("int32")
    tokens[np.arange(time_steps)[None, None, :] >= lengths[..., None]] = 0
    labels = keras.utils.to_categorical(rng.integers(0, 2, size=(count, batch)), 2)
    return tokens, labels


def build(layer, mask, args):
    model = keras.Sequential([
        keras.Input((args.time,), dtype="int32"),
        keras.layers.Embedding(args.vocab, args.embed, mask_zero=mask),
        layer,
        keras.layers.Dense(2, activation="softmax"),
    ])
    # "auto" is Keras' default: XLA on JAX, no XLA on TensorFlow on a CPU. --jit asks XLA
    # for our layers on TensorFlow, which Keras' LSTM there does not support.
    jit = True if args.jit and isinstance(layer, layers.Recurrent) else "auto"
    model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile=jit)
    return model


def without_hand_written_backward():
    """A context in which our LSTM trains by autodiff of its forward loop: neither the
    fused backward (`fused.py`) nor packed sequences (`packed.py`), both of which
    apply only where `fused.fusable` says so."""
    return mock.patch.object(fused, "fusable", lambda *args, **kwargs: False)


def candidates(args):
    """(name, cell, mask, make the layer, the context to build and train it in)."""
    plain = contextlib.nullcontext
    for mask in args.masks:
        yield f"base mask={mask}", "base", mask, keras.layers.GlobalAveragePooling1D, plain
    for cell in args.cells:
        for mask in args.masks:
            yield f"{cell} mask={mask} keras", cell, mask, lambda c=cell: KERAS[c](args.units), plain
            yield f"{cell} mask={mask} ours", cell, mask, lambda c=cell: OURS[c](args.units), plain
            if cell == "lstm" and args.autodiff:
                yield (f"{cell} mask={mask} ours-autodiff", cell, mask, lambda: layers.LSTM(args.units),
                       without_hand_written_backward)


def main(argv=None):
    """Time every model; return (the report written to --out, {name: (cell, mask,
    model, the context it trains in)})."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=sorted(KERAS))
    parser.add_argument("--masks", nargs="+", type=int, default=[1, 0], help="1 = mask_zero on, 0 = off")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=200)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=20000)
    parser.add_argument("--batches", type=int, default=8, help="train steps per model per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jit", action="store_true", help="compile our models with XLA (Keras' LSTM cannot on TF)")
    parser.add_argument("--autodiff", action="store_true", help="also time our LSTM without the hand-written backward")
    parser.add_argument("--out", help=f"the JSON report (default: {default_out()}, named after the "
                                      "Keras backend)")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else ROOT / default_out()
    args.out = args.out or str(default_out())  # as recorded: from the repository root

    tokens, labels = token_batches(args.batches, args.batch, args.time, args.vocab, seed=0)
    models = {}
    for name, cell, mask, make, context in candidates(args):
        keras.utils.set_random_seed(0)
        with context():
            models[name] = (cell, mask, build(make(), bool(mask), args), context)
    for name, (_, _, model, context) in models.items():  # warm-up: tracing and the first steps
        with context():
            for k in range(2):
                model.train_on_batch(tokens[k], labels[k])

    rates = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, (_, _, model, context) in models.items():
            with context():  # a retrace, if any, sees the same paths
                start = time.perf_counter()
                for k in range(args.batches):
                    model.train_on_batch(tokens[k], labels[k])
                rates[name].append(args.batches * args.batch / (time.perf_counter() - start))

    results = []
    for name, (cell, mask, _, _) in models.items():
        median = float(np.median(rates[name]))
        row = {"model": name, "samples_per_s": round(median, 1), "rounds": [round(r, 1) for r in rates[name]]}
        if cell == "base":
            print(f"{name:28s} {median:8.1f} samples/s   (no recurrent layer)")
        else:
            reference = float(np.median(rates[f"{cell} mask={mask} keras"]))
            base = float(np.median(rates[f"base mask={mask}"]))
            layer_ratio = (1 / reference - 1 / base) / (1 / median - 1 / base)  # seconds per sample
            row.update(ratio_to_keras=round(median / reference, 3), layer_ratio_to_keras=round(layer_ratio, 3))
            print(f"{name:28s} {median:8.1f} samples/s   x{median / reference:.2f} vs keras"
                  f"   (recurrent layer alone x{layer_ratio:.2f})")
        results.append(row)
    report = {"benchmark": "layer_throughput", "settings": vars(args), "results": results, **describe()}
    write_json(out, report)
    print(f"wrote {out}")
    return report, models


if __name__ == "__main__":
    main()
