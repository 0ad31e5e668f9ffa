"""`sentiment-lstm serve` as a child process on a free loopback port, for the server's
tests and its load benchmark: started, waited for, stopped with SIGTERM.

Example:

>>> with ServerProcess("models/imdb_lstm", "--max-batch-size", "32") as server:
...     server.wait_ready()
...     httpx.post(server.url("/v1/models/imdb_lstm:predict"), json={"instances": ["Fine."]})
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"at http://(?P<host>[^/\s]+):(?P<port>\d+)/")


class ServerProcess:
    """`python serve.py --model-dir MODEL_DIR --port 0 *flags` from the repository root,
    its stdout (the access log) and stderr in files under `log_dir` (a temporary one by default).

    Args:
        model_dir: the model directory to serve.
        *flags: more `serve` flags.
        log_dir: where `stdout.log` and `stderr.log` go.
        timeout: seconds to wait for the port and for readiness.
    """

    def __init__(self, model_dir, *flags, log_dir=None, timeout=300):
        self._tmp = None if log_dir else tempfile.TemporaryDirectory()
        self.log_dir = Path(log_dir or self._tmp.name)
        self.timeout = timeout
        self.stdout_path, self.stderr_path = self.log_dir / "stdout.log", self.log_dir / "stderr.log"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen([sys.executable, "serve.py", "--model-dir", str(model_dir),
                                             "--port", "0", *flags], cwd=ROOT, stdout=out, stderr=err,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.host, self.port = self._wait_for_port()

    def url(self, path=""):
        return f"http://{self.host}:{self.port}{path}"

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def _wait_for_port(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self.stderr())
            if match:
                return match["host"], int(match["port"])
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}: {self.stderr()}")
            time.sleep(0.02)
        raise TimeoutError(f"the server did not listen within {self.timeout} s: {self.stderr()}")

    def get(self, path):
        """(status, JSON body) of GET `path`, with the standard library alone."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def wait_ready(self, poll=0.05):
        """Poll /v2/health/ready until it answers 200; return every (status, body) seen."""
        seen, deadline = [], time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}: {self.stderr()}")
            try:
                seen.append(self.get("/v2/health/ready"))
            except (urllib.error.URLError, ConnectionError):
                seen.append((None, None))
            if seen[-1][0] == 200:
                return seen
            time.sleep(poll)
        raise TimeoutError(f"the server was not ready within {self.timeout} s: {self.stderr()}")

    def stop(self, timeout=60):
        """SIGTERM, then wait; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if self._tmp:
            self._tmp.cleanup()
