"""Run the project's scripts the way a user does: a fresh interpreter in the repository root."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_script(*args, stdin=None, cwd=REPO):
    """Run `python *args` (a script, or `-c` and a snippet); return the CompletedProcess."""
    return subprocess.run([sys.executable, *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=300)
