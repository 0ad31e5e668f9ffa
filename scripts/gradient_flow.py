"""Plot ‖∂h_T/∂x_t‖ for t = 1..T for SimpleRNN, GRU and LSTM of equal size.

Usage: python scripts/gradient_flow.py [--time 100] [--units 32] [--out docs/gradient_flow.png]
Prints the norms at t = 1, T/2 and T and writes a PNG (log scale) and a JSON of all norms.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from sentiment_lstm import layers  # noqa: E402
from sentiment_lstm.gradients import input_gradient_norms, set_forget_bias  # noqa: E402


def profiles(time, units, batch, seed, forget_biases):
    inputs = np.random.default_rng(seed).normal(size=(batch, time, units)).astype("float32")
    curves = {}
    for name, make in [("SimpleRNN", layers.SimpleRNN), ("GRU", layers.GRU), ("LSTM", layers.LSTM)]:
        keras.utils.set_random_seed(seed)
        layer = make(units)
        layer.build(inputs.shape)
        if name != "LSTM":
            curves[name] = input_gradient_norms(layer, inputs)
            continue
        for b_f in forget_biases:
            set_forget_bias(layer, b_f)
            curves[f"LSTM b_f={b_f:g}"] = input_gradient_norms(layer, inputs)
    return curves


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forget-biases", type=float, nargs="+", default=[1.0, 3.0, 5.0])
    parser.add_argument("--out", default="docs/gradient_flow.png")
    args = parser.parse_args()

    curves = profiles(args.time, args.units, args.batch, args.seed, args.forget_biases)
    for name, norms in curves.items():
        print(f"{name:16s} t=1 {norms[0]:.2e}  t={args.time // 2} {norms[args.time // 2 - 1]:.2e}  t=T {norms[-1]:.2e}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    steps = np.arange(1, args.time + 1)
    for name, norms in curves.items():
        ax.semilogy(steps, np.maximum(norms, 1e-30), label=name)
    ax.set(xlabel="input step t", ylabel="‖∂h_T/∂x_t‖ (mean over batch)",
           title=f"How far back the gradient reaches (T={args.time}, {args.units} units, Keras default init)")
    ax.set_ylim(1e-30, None)
    ax.legend()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, out)
    data = {name: [float(v) for v in norms] for name, norms in curves.items()}
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "norms": data}, indent=1))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
