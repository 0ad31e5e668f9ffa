"""How far the attention weights of a `--pooling attention` model agree with its Integrated
Gradients: attention weights are not explanations by themselves (Jain & Wallace 2019), so
this measures, on a seeded sample of each model's validation texts
(`sources.held_out(config, "validation")`), for each text of at least 3 read words:

- Spearman's rank correlation between the words' attention weights a_t and the size of
  their attributions |IG_t| (the words the text vector weighs most against the words
  that move the prediction most, either way), and with IG_t itself (signed, towards
  the predicted class);
- the share of texts whose most attended word is among the top 3 by |IG| (against the
  chance 3/n of a random word);
- the same correlation for a random ranking, the floor.

    python benchmarks/attention_agreement.py --model-dir benchmarks/out/workloads/trec/lstm-attention \\
        --texts 300 --out benchmarks/results/attention_agreement.json

Each model's entry in `--out` replaces that model's earlier one and keeps the others'.
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.environment import describe, write_json  # noqa: E402
from sentiment_lstm.data import sources  # noqa: E402

TOP = 3  # the top words by |IG| the most attended word is looked for in


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", action="append", required=True, help="a model with --pooling attention; "
                        "may be repeated")
    parser.add_argument("--texts", type=int, default=300, help="validation texts per model (default: 300)")
    parser.add_argument("--steps", type=int, default=64, help="Riemann steps of IG (default: 64)")
    parser.add_argument("--data", help="the labeled data whose validation split is read (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/attention_agreement.json")
    return parser.parse_args(argv)


def agreement(attention, ig, rng):
    """`(rho(a, |IG|), rho(a, IG), rho(random, |IG|), whether the most attended word is in
    the top `TOP` by |IG|, the chance of that)` for one text's read words."""
    attention, ig = np.asarray(attention), np.asarray(ig)
    top = set(np.argsort(-np.abs(ig), kind="stable")[:TOP].tolist())
    return (stats.spearmanr(attention, np.abs(ig)).statistic, stats.spearmanr(attention, ig).statistic,
            stats.spearmanr(rng.permutation(len(ig)), np.abs(ig)).statistic,
            int(np.argmax(attention)) in top, min(TOP, len(ig)) / len(ig))


def run_model(model_dir, args):
    from sentiment_lstm.explain import attributions
    from sentiment_lstm.inference import classify

    classifier = classify.load(model_dir)
    texts = sources.held_out(classifier.config, "validation", args.data)
    order = np.random.default_rng(args.seed).permutation(len(texts.texts))[:args.texts]
    rng = np.random.default_rng(args.seed + 1)
    rows, lengths = [], []
    for index in order:
        result = attributions.explain(classifier, texts.texts[index], steps=args.steps, gates=False)
        if "attention" not in result:
            raise SystemExit(f"error: {model_dir} has no attention pooling (train it with --pooling attention).")
        n = result["read_count"]
        read = [k for k, r in enumerate(result["read"]) if r]
        if n < 3 or len(read) != n:
            continue
        row = agreement([result["attention"][k] for k in read], [result["attributions"][k] for k in read], rng)
        if np.isfinite(row[:3]).all():  # a constant attention or IG has no ranking
            rows.append(row)
            lengths.append(n)
    rows = np.asarray(rows, dtype=np.float64)
    return {"model_dir": str(model_dir), "classes": len(classifier.labels), "texts": len(rows),
            "cell": classifier.config.cell, "read_words_median": float(np.median(lengths)),
            "spearman_attention_vs_abs_ig": {"median": float(np.median(rows[:, 0])), "mean": float(rows[:, 0].mean())},
            "spearman_attention_vs_signed_ig": {"median": float(np.median(rows[:, 1])), "mean": float(rows[:, 1].mean())},
            "spearman_random_vs_abs_ig": {"median": float(np.median(rows[:, 2])), "mean": float(rows[:, 2].mean())},
            f"most_attended_in_top{TOP}_by_abs_ig": float(rows[:, 3].mean()), "chance": float(rows[:, 4].mean())}


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    kept = json.loads(out.read_text())["models"] if out.is_file() else []
    command = " ".join(["python", "benchmarks/attention_agreement.py", *(sys.argv[1:] if argv is None else argv)])
    for model_dir in args.model_dir:
        print(f"{model_dir} ...", flush=True)
        entry = {"environment": describe(), "command": command, "steps": args.steps, **run_model(model_dir, args)}
        kept = [m for m in kept if m["model_dir"] != str(model_dir)] + [entry]
        write_json(out, {"models": kept})
        print(json.dumps({k: v for k, v in entry.items() if k != "environment"}, indent=1), flush=True)


if __name__ == "__main__":
    main()
