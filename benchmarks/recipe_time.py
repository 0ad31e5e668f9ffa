"""Training time of recipes side by side: each trained `--rounds` times, round-robin, in one run.

A 2-core VM's speed drifts (the same epoch can take from one to two times as long from
one minute to the next), so a ratio of two single runs says little. This trains each
recipe in turn, round after round (plain, default, plain, default, ...), each `train.py`
in a process of its own, and records every run's wall and CPU time (user + system of
the process tree); the table gives the medians and their ratio to the first recipe.
Then each recipe's last model is evaluated on the test split (the runs are seeded and
deterministic: every round trains the same model).

    python benchmarks/recipe_time.py [--recipes plain default] [--rounds 3] \
        [--out benchmarks/results/recipe_time.json]
"""
import argparse
import json
import resource
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import imdb  # noqa: E402
from benchmarks.processes import run_child  # noqa: E402
from sentiment_lstm.core import checks, files  # noqa: E402


def make_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["plain", "default"],
                        help="recipes to train, the first the reference of the ratios (default: %(default)s)")
    parser.add_argument("--rounds", type=checks.whole_number_argument(), default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "recipe_time.json"))
    parser.add_argument("--work-dir", default=str(ROOT / "benchmarks" / "out" / "recipe_time"))
    return parser


def children_cpu():
    """CPU seconds (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_once(name, work, round_number):
    """Train recipe `name` into `work/name`: `{wall, cpu, epochs}` (seconds; epochs run)."""
    model_dir = work / name
    shutil.rmtree(model_dir, ignore_errors=True)
    argv = ["train.py", "--recipe", name, "--model-dir", imdb.relative(model_dir)]
    before = children_cpu()
    status, wall, _ = run_child(argv, work / "logs" / f"{name}.{round_number}.train.log")
    if status != 0:
        raise imdb.ChildFailed(f"train.py --recipe {name} exited with status {status}")
    history = json.loads((model_dir / "history.json").read_text())
    return {"wall_s": wall, "cpu_s": children_cpu() - before, "epochs": len(history["epoch"])}


def test_accuracy(name, work):
    """The test accuracy of `work/name` (`evaluate.py`)."""
    model_dir = work / name
    imdb.checked(["evaluate.py", "--model-dir", imdb.relative(model_dir)], work / "logs" / f"{name}.evaluate.log",
                 f"evaluate.py for {name}")
    return json.loads(next(iter(sorted(model_dir.glob("metrics*.json")))).read_text())["accuracy"]


def summary(runs, reference):
    """Medians of `runs` (`train_once`'s dicts) and their ratios to those of `reference`'s."""
    wall, cpu = statistics.median(r["wall_s"] for r in runs), statistics.median(r["cpu_s"] for r in runs)
    return {"median_wall_s": wall, "median_cpu_s": cpu,
            "wall_ratio": wall / reference["median_wall_s"] if reference else 1.0,
            "cpu_ratio": cpu / reference["median_cpu_s"] if reference else 1.0}


def markdown(results):
    lines = [imdb.run_line(results["environment"]), "",
             f"Command: `{results['command']}`", "",
             "| recipe | test accuracy | epochs | wall, each round (s) | CPU, each round (s) | median wall | "
             "median CPU | ratio wall / CPU |", "|---|---:|---:|---|---|---:|---:|---:|"]
    for name, entry in results["recipes"].items():
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in entry["runs"])
        cpus = ", ".join(f"{r['cpu_s']:.1f}" for r in entry["runs"])
        lines.append(f"| `{name}` | {100 * entry['test_accuracy']:.2f}% | {entry['runs'][-1]['epochs']} | {walls} | "
                     f"{cpus} | {entry['median_wall_s']:.1f} s | {entry['median_cpu_s']:.1f} s | "
                     f"{entry['wall_ratio']:.2f}× / {entry['cpu_ratio']:.2f}× |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    from benchmarks.environment import describe, write_json

    work = Path(args.work_dir)
    results = {"command": imdb.command_line(["benchmarks/recipe_time.py", *argv]), "environment": describe(),
               "rounds": args.rounds, "recipes": {name: {"runs": []} for name in args.recipes}}
    for round_number in range(1, args.rounds + 1):
        for name in args.recipes:
            run = train_once(name, work, round_number)
            results["recipes"][name]["runs"].append(run)
            print(f"round {round_number}, {name}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, "
                  f"{run['epochs']} epochs", flush=True)
    reference = None
    for name, entry in results["recipes"].items():
        entry.update(summary(entry["runs"], reference), test_accuracy=test_accuracy(name, work))
        reference = reference or entry
    write_json(args.out, results)
    with files.atomic_file(Path(args.out).with_suffix(".md")) as staged:  # written whole or not at all
        staged.write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
