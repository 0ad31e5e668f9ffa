"""The `--out` directory of a search: KerasTuner's project directory and ours.

    tune.json           the settings of the search (config, space, strategy, folds,
                        trials): what a resumed run must match
    oracle.json, tuner0.json, trial_<id>/trial.json     KerasTuner's state
    trial_<id>/folds.json   our record of the trial: each finished fold's result
    trials.csv, trials.png, best.toml                   the outputs (`report.py`)

`check` runs before TensorFlow loads: `--out` is new, empty, or the directory of a
search with the same settings, which the run then resumes (KerasTuner reloads its
project: completed trials are not run again; the trial a kill interrupted runs again,
from its first unfinished fold). Imports nothing heavy.

Example:

>>> check("runs/tune", settings)      # or UserError: "runs/tune holds other files ..."
(PosixPath('runs/tune'), False)
"""
import json
from pathlib import Path

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.files import atomic_file

SETTINGS = "tune.json"
FOLDS = "folds.json"  # in a trial's directory


def check(out, settings):
    """`(out as a Path, whether it holds a search to resume)`, if `out` is a new or empty
    directory, or one that a search with the same `settings` (a JSON-able dict) wrote.

    Raises:
        UserError: `out` is a file, holds other files, or holds a search with other settings.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a directory for the search and its results.")
    if not out.exists() or not any(out.iterdir()):
        return out, False
    saved = out / SETTINGS
    if not saved.is_file():
        raise UserError(f"--out {out} holds other files; give a new or empty directory, or the --out of an "
                        "earlier tune to resume it.")
    try:
        earlier = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"Cannot read {saved} ({error}); give another --out.") from error
    if earlier != _json(settings):
        differ = sorted(set(_differences(earlier, _json(settings))))
        raise UserError(f"--out {out} holds a search with other settings ({', '.join(differ)}); give the same "
                        "flags to resume it, or another --out.")
    return out, True


def start(out, settings):
    """Create `out` and record the search's `settings` there (once)."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / SETTINGS).exists():
        with atomic_file(out / SETTINGS) as tmp:
            tmp.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def read_folds(trial_dir, values):
    """The finished folds' results recorded in `trial_dir` for a trial of these `values`
    (`{fold index: result}`; none when the record is of other values or missing)."""
    path = Path(trial_dir) / FOLDS
    if not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("values") != _json(values):
        return {}
    return {int(k): result for k, result in record["folds"].items()}


def write_folds(trial_dir, values, folds):
    """Record the finished folds' results `{fold index: result}` of a trial of `values`."""
    with atomic_file(Path(trial_dir) / FOLDS) as tmp:
        tmp.write_text(json.dumps({"values": values, "folds": {str(k): r for k, r in sorted(folds.items())}},
                                  indent=2) + "\n", encoding="utf-8")


def _json(value):
    """`value` as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value))


def _differences(old, new):
    """The flags (`--units`) of the settings that differ between the dicts `old` and `new`,
    looking into nested dicts (the config, the space)."""
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            yield from _differences(a, b)
        elif a != b:
            yield f"--{key.replace('_', '-')}"
