"""Faithfulness of the explanations (`sentiment_lstm/explain/attributions.py`), and their cost.

For each model and each of a seeded random sample of its validation reviews
(`sources.held_out(config, "validation")`), ERASER's two faithfulness scores (DeYoung
et al. 2020), for Integrated Gradients, occlusion and a random ranking (the floor),
as AOPC: the mean over k in 1, 5, 10, 20, 50% of the review's read words (at least one)
of

- comprehensiveness: p_j(review) - p_j(review without its top-k% words), j the
  predicted class (of any number of classes): how much the prediction falls without
  them (higher is better);
- sufficiency: p_j(review) - p_j(its top-k% words alone, in order): how much is lost
  keeping only them (lower is better).

Words are ranked by their score for the predicted class (attribution, occlusion), the
largest first; a review without them is read as the model reads any text (its n-gram
vectors come from the new neighbours). Also: each review's explanation time (the whole
`explain` call: IG at --steps, occlusion, trajectory and gates), the completeness gaps,
and how often the largest jumps of the step-by-step curve fall on the top-attributed
words (by |attribution| and |occlusion|, against the chance k/n).

    python benchmarks/explanations.py --model-dir /work/models/best_1epoch --model-dir /work/models/default \\
        --reviews 500 --time-limit 0          # the full run: 500 reviews per model

`--time-limit S` stops a model's reviews after S seconds (0: none), so a run on a
shared machine fits; the results say how many reviews each model got. Each model's
entry in `--out` replaces that model's earlier one and keeps the other models'.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.environment import describe, write_json  # noqa: E402
from sentiment_lstm.data import sources  # noqa: E402
from sentiment_lstm.explain import attributions
from sentiment_lstm.inference import classify
from sentiment_lstm.explain.page import relative_gap  # noqa: E402

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)
METHODS = ("integrated_gradients", "occlusion", "random")
JUMPS = (1, 3)  # the largest k jumps of the curve, checked against the top k words


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", action="append", required=True, help="a model directory; may be repeated")
    parser.add_argument("--reviews", type=int, default=500, help="validation reviews per model (default: 500)")
    parser.add_argument("--time-limit", type=float, default=600,
                        help="seconds of reviews per model, 0: no limit (default: 600)")
    parser.add_argument("--steps", type=int, default=attributions.DEFAULT_STEPS, help="Riemann steps of IG")
    parser.add_argument("--data", help="IMDB archive or folder (default: found automatically)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and of the random ranking")
    parser.add_argument("--out", default="benchmarks/results/explanations.json")
    return parser.parse_args(argv)


def ranking(method, result, rng):
    """Read-word positions, the most important for the predicted class first."""
    n = result["read_count"]
    if method == "random":
        return rng.permutation(n)
    scores = np.asarray(result["attributions" if method == "integrated_gradients" else "occlusion"][:n])
    return np.argsort(-scores, kind="stable")


def eraser(explainer, ids, predicted, probability, orders):
    """{method: (comprehensiveness per fraction, sufficiency per fraction)} of one review."""
    n = len(ids)
    rows, where = [], []
    for method, order in orders.items():
        for fraction in FRACTIONS:
            top = np.zeros(n, bool)
            top[order[:max(1, math.ceil(fraction * n))]] = True
            rows += [ids[~top], ids[top]]
            where.append(method)
    width = max(1, max(len(r) for r in rows))
    batch = np.zeros((len(rows), width), np.int32)
    for k, row in enumerate(rows):
        batch[k, :len(row)] = row
    p = attributions.softmax(explainer.class_scores(batch))[:, predicted]
    drops = probability - p
    out = {}
    for m, method in enumerate(orders):
        block = drops[2 * len(FRACTIONS) * m: 2 * len(FRACTIONS) * (m + 1)]
        out[method] = (block[0::2].tolist(), block[1::2].tolist())
    return out


def jump_hits(result, start):
    """For each k of JUMPS: (share of the k largest |jumps| of the curve on the k words of
    largest |attribution|, the same for |occlusion|, chance k/n)."""
    n = result["read_count"]
    curve = np.asarray([start] + result["trajectory"])
    jumps = np.abs(np.diff(curve))
    out = {}
    for k in JUMPS:
        if n < 2 * k:
            continue
        largest = set(np.argsort(-jumps, kind="stable")[:k])
        hits = [len(largest & set(np.argsort(-np.abs(result[key][:n]), kind="stable")[:k])) / k
                for key in ("attributions", "occlusion")]
        out[k] = (*hits, k / n)
    return out


def run_model(model_dir, args):
    classifier = classify.load(model_dir)
    explainer = attributions.explainer(classifier)
    reviews = sources.held_out(classifier.config, "validation", args.data)
    order = np.random.default_rng(args.seed).permutation(len(reviews.texts))[:args.reviews]
    rng = np.random.default_rng(args.seed + 1)
    warm = time.perf_counter()
    attributions.explain(classifier, "A warm-up review, to trace the functions once.", steps=args.steps)
    warm_up = time.perf_counter() - warm
    empty = attributions.softmax(explainer.class_scores(np.zeros((1, 1), np.int32)))[0]  # p before any word
    per_method = {m: ([], []) for m in METHODS}
    times, gaps, lengths, jumps, skipped = [], [], [], {k: [] for k in JUMPS}, 0
    began = time.perf_counter()
    for index in order:
        if args.time_limit and time.perf_counter() - began > args.time_limit:
            break
        review = reviews.texts[index]
        tic = time.perf_counter()
        result = attributions.explain(classifier, review, steps=args.steps)
        times.append(time.perf_counter() - tic)
        n = result["read_count"]
        if n == 0:
            skipped += 1
            continue
        _, _, ids = explainer.tokenize(review)
        ids = ids[:n]
        predicted = explainer.labels.index(result["label"])
        start = float(empty[explainer.positive if len(explainer.labels) == 2 else predicted])  # the curve's class
        orders = {m: ranking(m, result, rng) for m in METHODS}
        for method, (comp, suff) in eraser(explainer, ids, predicted, result["score"], orders).items():
            per_method[method][0].append(comp)
            per_method[method][1].append(suff)
        gaps.append(relative_gap(result))
        lengths.append(n)
        for k, hit in jump_hits(result, start).items():
            jumps[k].append(hit)
    scores = {}
    for method, (comp, suff) in per_method.items():
        comp, suff = np.asarray(comp), np.asarray(suff)
        scores[method] = {
            "comprehensiveness_aopc": float(comp.mean()), "sufficiency_aopc": float(suff.mean()),
            "comprehensiveness_by_fraction": dict(zip(map(str, FRACTIONS), comp.mean(axis=0).tolist())),
            "sufficiency_by_fraction": dict(zip(map(str, FRACTIONS), suff.mean(axis=0).tolist())),
        }
    floor = scores["random"]
    for method in ("integrated_gradients", "occlusion"):
        scores[method]["comprehensiveness_margin_over_random"] = (
            scores[method]["comprehensiveness_aopc"] - floor["comprehensiveness_aopc"])
        scores[method]["sufficiency_margin_over_random"] = floor["sufficiency_aopc"] - scores[method]["sufficiency_aopc"]
    gaps = np.asarray(gaps)
    return {
        "model_dir": str(model_dir), "classes": len(explainer.labels), "config": {k: getattr(classifier.config, k) for k in (
            "cell", "units", "embed_dim", "bigram_dim", "trigram_dim", "max_length", "serve_max_length")},
        "serve_length": explainer.serve_length, "reviews": len(times), "empty_reviews": skipped,
        "read_words": {"median": float(np.median(lengths)), "mean": float(np.mean(lengths)), "max": int(max(lengths))},
        "seconds_per_review": {"median": statistics.median(times), "mean": statistics.fmean(times),
                               "max": max(times), "warm_up_first_call": warm_up},
        "completeness_gap_relative": {"median": float(np.median(gaps)), "max": float(gaps.max()),
                                      "share_below_1pct": float((gaps < 0.01).mean())},
        "scores": scores,
        "curve_jumps_on_top_words": {
            str(k): {"reviews": len(v), "by_attribution": float(np.mean([h[0] for h in v])),
                     "by_occlusion": float(np.mean([h[1] for h in v])), "chance": float(np.mean([h[2] for h in v]))}
            for k, v in jumps.items() if v},
    }


def main(argv=None):
    args = parse_args(argv)
    if args.steps < 1 or args.reviews < 1:
        sys.exit("error: --steps and --reviews must be at least 1.")
    out = Path(args.out)
    kept = json.loads(out.read_text())["models"] if out.is_file() else []  # other models' earlier runs
    command = " ".join(["python", "benchmarks/explanations.py", *sys.argv[1:]])
    for model_dir in args.model_dir:
        print(f"{model_dir} ...", flush=True)
        load = os.getloadavg()
        entry = {"environment": describe(), "command": command, "steps": args.steps, "fractions": FRACTIONS,
                 "time_limit_s": args.time_limit, **run_model(model_dir, args),
                 "load_average_1min": {"start": load[0], "end": os.getloadavg()[0]}}
        kept = [m for m in kept if m["model_dir"] != str(model_dir)] + [entry]
        write_json(out, {"models": kept})  # after each model, so a stopped run keeps what it measured
        print(json.dumps(entry, indent=1), flush=True)


if __name__ == "__main__":
    main()
