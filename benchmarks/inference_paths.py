"""The LSTM's last states in inference: packed sequences against compiled chunks, by rows.

    python benchmarks/inference_paths.py            # -> benchmarks/results/inference_paths.json

`rnn/compiled.py` runs a batch's last states in chunks compiled by XLA where it has at
most `compiled.MOST_ROWS` rows, and `rnn/packed.py` runs larger batches; this shows why
there. For each row count, random inputs of `--steps` steps and `--features` features
(160: the best recipe's 128-d words plus two 16-d n-gram vectors), lengths between half
and all of the steps, a 64-unit LSTM: both paths (each its own `tf.function`, the batch
size static), medians of `--repeats` calls after a first one (tracing, XLA's compile),
in the same process, the two paths alternating. Also checks they agree (largest
absolute difference). `--projected`: the inputs are `W_x x_t + b` already (`4 * 64`
wide, as serving's fold hands them), run with `projected=True` on both paths, which
then take the compiled chunks up to `compiled.MOST_PROJECTED_ROWS` rows.

    python benchmarks/inference_paths.py --projected --rows 1 8 32 64 128 256 \
        --out benchmarks/results/inference_paths_projected.json
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

UNITS = 64


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 256])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--features", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--projected", action="store_true", help="inputs are W_x x + b already (4 * units wide)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "inference_paths.json"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from sentiment_lstm.rnn import compiled, layers

    layer = layers.LSTM(UNITS)
    layer.build((None, None, args.features))
    cell = layer.cell

    def path(run):
        @tf.function
        def last_h(x, lengths):
            zeros = tf.zeros((tf.shape(x)[0], UNITS))
            return run(cell, x, lengths, zeros, zeros, None, False, args.projected)[0]

        return last_h

    paths = {"packed": path(compiled._packed_last_states), "compiled": path(compiled.compiled_last_states)}
    rng = np.random.default_rng(0)
    width = 4 * UNITS if args.projected else args.features
    results = []
    for rows in args.rows:
        x = tf.constant(rng.normal(size=(rows, args.steps, width)).astype("float32"))
        lengths = tf.constant(rng.integers(args.steps // 2, args.steps + 1, size=rows).astype("int32"))
        first = {name: run(x, lengths).numpy() for name, run in paths.items()}
        times = {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, run in paths.items():
                start = time.perf_counter()
                run(x, lengths).numpy()
                times[name].append(time.perf_counter() - start)
        ms = {name: float(np.median(t) * 1000) for name, t in times.items()}
        results.append({"rows": rows, "ms": ms, "packed_over_compiled": ms["packed"] / ms["compiled"],
                        "max_abs_difference": float(np.max(np.abs(first["packed"] - first["compiled"])))})
        print(f"{rows:4d} rows: packed {ms['packed']:7.2f} ms, compiled {ms['compiled']:7.2f} ms, "
              f"packed / compiled {ms['packed'] / ms['compiled']:.2f}", flush=True)
    report = {"environment": environment.describe(), "command": "python benchmarks/inference_paths.py "
              + " ".join(sys.argv[1:] if argv is None else argv), "steps": args.steps, "features": width, "projected": args.projected,
              "units": UNITS, "repeats": args.repeats, "load_average_1min": round(os.getloadavg()[0], 2),
              "results": results}
    environment.write_json(args.out, report)
    print(f"load average {report['load_average_1min']}; written to {args.out}")


if __name__ == "__main__":
    main()
