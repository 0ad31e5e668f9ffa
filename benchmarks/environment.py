"""What every benchmark records with its numbers: commit, date, machine, versions."""

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# The vector extensions that choose oneDNN's and Eigen's kernels, hence the rounding of
# float sums: hosts that differ in them can train to different weights, even deterministically.
VECTOR_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile")


def _cpuinfo(path="/proc/cpuinfo"):
    """The first processor's fields of /proc/cpuinfo, {} where there is none."""
    try:
        lines = Path(path).read_text().split("\n\n")[0].splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def cpu(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name, family/model numbers, and which of VECTOR_FLAGS it has."""
    info = _cpuinfo(cpuinfo)
    flags = set(info.get("flags", "").split())
    return {"cpu": info.get("model name") or platform.processor() or None,
            "cpu_family_model": f"{info['cpu family']}/{info['model']}" if "cpu family" in info else None,
            "vector_extensions": [flag for flag in VECTOR_FLAGS if flag in flags]}


def describe():
    """A dict of commit (and the tracked files changed since it), date, machine and versions."""
    import keras
    import numpy
    import tensorflow as tf

    versions = {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                "numpy": numpy.__version__}
    for name in ("jax", "torch", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return {
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": [line.split(None, 1)[1] for line in (_git("status", "--porcelain", "--untracked-files=no") or "").splitlines()],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**cpu(), "cores": os.cpu_count(), "platform": platform.platform()},
        "keras_backend": keras.backend.backend(),
        "versions": versions,
    }


def write_json(path, data):
    """Write `data` as JSON to `path` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
