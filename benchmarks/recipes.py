"""Try training recipes on the validation split; record every one, not only the best.

    python benchmarks/recipes.py [--only NAME ...] [--out benchmarks/recipes.json]

Each recipe is a set of `train.py` flags; each run trains on the training split less
its validation part (the test split is never read) and reports the best validation
accuracy of the epoch EarlyStopping restores (lowest validation loss), the epochs run and the wall time of
`train.py`. Results are merged into `--out` by name, so recipes can be run a few at a time.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.environment import ROOT, describe, write_json  # noqa: E402

RECIPES = {
    "default": "",
    "pretrained": "--pretrained-embeddings",
    "len400-embed128-pretrained": "--max-length 400 --embed-dim 128 --pretrained-embeddings",
    "len400-embed128-pretrained-bi": "--max-length 400 --embed-dim 128 --pretrained-embeddings --bidirectional",
    "len400-embed128-pretrained-regularised": "--max-length 400 --embed-dim 128 --pretrained-embeddings "
    "--dropout 0.3 --embedding-dropout 0.3 --dense-dropout 0.5 --learning-rate 5e-4",
    "len400-embed128-pretrained-bi-regularised": "--max-length 400 --embed-dim 128 --pretrained-embeddings "
    "--bidirectional --dropout 0.3 --embedding-dropout 0.3 --dense-dropout 0.5 --learning-rate 5e-4",
    "len400-embed128-pretrained-regularised-more": "--max-length 400 --embed-dim 128 --pretrained-embeddings "
    "--dropout 0.5 --embedding-dropout 0.4 --dense-dropout 0.5 --learning-rate 3e-4",
    "len600-embed128-pretrained-regularised-more": "--max-length 600 --embed-dim 128 --pretrained-embeddings "
    "--dropout 0.5 --embedding-dropout 0.4 --dense-dropout 0.5 --learning-rate 3e-4",
    "len400-embed128-pretrained-regularised-strongest": "--max-length 400 --embed-dim 128 --pretrained-embeddings "
    "--dropout 0.6 --embedding-dropout 0.5 --dense-dropout 0.6 --learning-rate 2e-4 --patience 3",
    "len400-embed128-pretrained-regularised-strongest-maxmean": "--max-length 400 --embed-dim 128 "
    "--pretrained-embeddings --dropout 0.6 --embedding-dropout 0.5 --dense-dropout 0.6 --learning-rate 2e-4 "
    "--patience 3 --pooling max-mean",
    # Knowledge distillation: the unlabeled reviews too, with NB-LR's class probabilities (teacher.py).
    "len400-embed128-pretrained-regularised-strongest-teacher": "--max-length 400 --embed-dim 128 "
    "--pretrained-embeddings --dropout 0.6 --embedding-dropout 0.5 --dense-dropout 0.6 --learning-rate 2e-4 "
    "--patience 3 --teacher nb-lr",
    "len400-embed128-pretrained-regularised-more-teacher": "--max-length 400 --embed-dim 128 "
    "--pretrained-embeddings --dropout 0.5 --embedding-dropout 0.4 --dense-dropout 0.5 --learning-rate 3e-4 "
    "--patience 3 --teacher nb-lr",
    "len400-embed128-pretrained-regularised-strongest-dropout07-teacher": "--max-length 400 --embed-dim 128 "
    "--pretrained-embeddings --dropout 0.7 --embedding-dropout 0.6 --dense-dropout 0.7 --learning-rate 2e-4 "
    "--patience 3 --teacher nb-lr",
    "len600-embed128-pretrained-regularised-strongest-teacher": "--max-length 600 --embed-dim 128 "
    "--pretrained-embeddings --dropout 0.6 --embedding-dropout 0.5 --dense-dropout 0.6 --learning-rate 2e-4 "
    "--patience 3 --teacher nb-lr",
}


def run(name, flags, out_dir):
    model_dir = out_dir / name
    command = f"python train.py {flags} --model-dir {model_dir}".replace("  ", " ")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "train.py", *shlex.split(flags), "--model-dir", str(model_dir)],
                            cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return {"command": command, "error": result.stderr.strip().splitlines()[-1:]}
    return {"command": command, **summary(json.loads((model_dir / "history.json").read_text())),
            "train_seconds": round(seconds, 1)}


def summary(history):
    """The epoch EarlyStopping restores (lowest val_loss) and its validation figures."""
    best = min(range(len(history["val_loss"])), key=lambda k: history["val_loss"][k])
    return {"val_accuracy": round(history["val_accuracy"][best], 4), "val_loss": round(history["val_loss"][best], 4),
            "best_epoch": best + 1, "epochs": len(history["val_loss"]),
            "max_val_accuracy": round(max(history["val_accuracy"]), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RECIPES), help="run only these recipes")
    parser.add_argument("--out", default="benchmarks/recipes.json")
    parser.add_argument("--models", default="benchmarks/out/recipes", help="where the trained models go")
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text())["recipes"] if out.exists() else {}
    for name in args.only or RECIPES:
        results[name] = {**run(name, RECIPES[name], Path(args.models)), **describe()}
        print(name, json.dumps({k: v for k, v in results[name].items() if k in ("val_accuracy", "epochs", "train_seconds", "error")}), flush=True)
        write_json(out, {"recipes": results})


if __name__ == "__main__":
    main()
