"""What one step of a compiled chunk costs, by its rows: the cost model serving plans with.

    python benchmarks/chunk_steps.py        # -> benchmarks/results/chunk_steps.json

`serving._part_costs` prices a step of `r` rows in XLA's compiled chunks
(`rnn/compiled.py`) at `size(r) + serving.STEP_ROWS`, `size(r)` being `r` rounded up
to a compiled row size. This times the chunk itself on projected inputs (a 64-unit
LSTM, `4 * 64` wide, as serving's fold hands them), every row running all of the
chunk's `compiled.CHUNK` steps: for each row count, medians of `--repeats` timings of
`--calls` calls one after another, after a first call (XLA's compile). Reported: the
time per step and per row-step, and a least-squares line `t = a * (r + k)` through the
row counts up to `--fit-up-to` rows: `k`, a step's fixed cost in rows.
Writes `--out` with `environment.describe()`.
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
    from sentiment_lstm.rnn import compiled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(compiled.ROW_SIZES))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--fit-up-to", type=int, default=128)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "chunk_steps.json"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    chunk = compiled._chunk_function(projected=True)
    rng = np.random.default_rng(0)
    W_h = tf.constant(rng.normal(scale=0.1, size=(UNITS, 4 * UNITS)).astype("float32"))
    results = []
    for rows in args.rows:
        x = tf.constant(rng.normal(size=(compiled.CHUNK, rows, 4 * UNITS)).astype("float32"))
        n, h = tf.fill([rows], compiled.CHUNK), tf.zeros((rows, UNITS))
        chunk(x, n, h, h, W_h)[0].numpy()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for _ in range(args.calls):
                out = chunk(x, n, h, h, W_h)
            out[0].numpy()
            times.append((time.perf_counter() - start) / args.calls)
        step_us = float(np.median(times) * 1e6 / compiled.CHUNK)
        results.append({"rows": rows, "us_per_step": step_us, "us_per_row_step": step_us / rows})
        print(f"{rows:4d} rows: {step_us:7.2f} us a step, {step_us / rows:6.3f} us a row-step", flush=True)
    fitted = [r for r in results if r["rows"] <= args.fit_up_to]
    slope, intercept = np.polyfit([r["rows"] for r in fitted], [r["us_per_step"] for r in fitted], 1)
    fixed_rows = float(intercept / slope)
    print(f"t = {slope:.3f} us * (rows + {fixed_rows:.1f}), fitted up to {args.fit_up_to} rows")
    report = {"environment": environment.describe(), "command": "python benchmarks/chunk_steps.py "
              + " ".join(sys.argv[1:] if argv is None else argv), "units": UNITS, "chunk": compiled.CHUNK,
              "repeats": args.repeats, "calls": args.calls,
              "fit": {"up_to_rows": args.fit_up_to, "us_per_row": float(slope), "fixed_rows": fixed_rows},
              "load_average_1min": round(os.getloadavg()[0], 2),
              "results": results}
    environment.write_json(args.out, report)
    print(f"load average {report['load_average_1min']}; written to {args.out}")


if __name__ == "__main__":
    main()
