"""`--distribute mirrored|multi-worker` with real processes on 127.0.0.1.

Each run trains a tiny model (3 units, embeddings of 4) without dropout on 2 x 200
synthetic reviews, one thread per process (`tests/distributed_worker.py` also sets one
inter-op thread, and logical CPUs for `mirrored`). The reference is one process with
Keras' `fit` on the same global batches: the distributed runs must end each epoch
with its weights to 1e-5 (all-reduced gradients: a replica's gradient dropped, or
counted twice, moves them by far more), and the two workers with identical ones.
"""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import write_imdb_folder
from sentiment_lstm.training import distributed

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "distributed_worker.py"
TIMEOUT = 300  # seconds any training run may take on a busy machine before the test fails
TOLERANCE = 1e-5
POSITIVE = "great wonderful superb moving brilliant loved fine".split()
NEGATIVE = "awful dull boring terrible waste hated poor".split()
FILLER = "the film movie plot actor story scene and a of it was".split()
FLAGS = ["--recipe", "plain", "--units", "3", "--embed-dim", "4", "--max-tokens", "60", "--max-length", "30", "--batch-size", "16",
         "--embedding-dropout", "0", "--dense-dropout", "0", "--intra-op-threads", "1", "--patience", "10"]
TEXTS = ["a great and moving film", "dull plot , a waste", "", "superb superb superb awful"]


def synthetic_reviews(per_class, seed=0):
    """`{(split, class, file): text}` of `per_class` reviews per class and split, 3 to 40
    words, a third of them the class's words, the rest shared filler."""
    rng = random.Random(seed)
    files = {}
    for split in ("train", "test"):
        for label, words in (("pos", POSITIVE), ("neg", NEGATIVE)):
            for i in range(per_class):
                text = " ".join(rng.choice(words) if rng.random() < 0.3 else rng.choice(FILLER)
                                for _ in range(rng.randint(3, 40)))
                files[(split, label, f"{i}_{7 if label == 'pos' else 2}.txt")] = text.encode()
    return files


def start(command, log, tf_config=None, tmpdir=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = tf_config
    if tmpdir:
        Path(tmpdir).mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def finish(processes, logs, timeout=TIMEOUT):
    """Wait for `processes` (killing all at the timeout); their exit codes."""
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            pytest.fail(f"training hung for {timeout} s:\n" + "\n".join(Path(log).read_text()[-3000:] for log in logs))
    return codes


def worker_command(devices, weights, model_dir, data, *extra):
    return [sys.executable, str(WORKER), str(devices), str(weights), "--data", str(data), "--model-dir",
            str(model_dir), *FLAGS, *extra]


def train_workers(tmp_path, data, model_dir, epochs, n=2):
    """Run an `n`-worker multi-worker job; return each worker's weights directory."""
    logs = [tmp_path / f"worker{i}.log" for i in range(n)]
    processes = [start(worker_command(1, tmp_path / f"weights{i}", model_dir, data, "--epochs", str(epochs),
                                      "--distribute", "multi-worker"),
                       logs[i], tf_config, tmpdir=tmp_path / f"tmp{i}")
                 for i, tf_config in enumerate(distributed.local_cluster(n))]
    codes = finish(processes, logs)
    assert codes == [0] * n, "\n".join(log.read_text()[-3000:] for log in logs)
    return [tmp_path / f"weights{i}" for i in range(n)]


def epoch_weights(directory, epoch):
    with np.load(Path(directory) / f"epoch{epoch}.npz") as saved:
        return [saved[f"arr_{k}"] for k in range(len(saved.files))]


def max_difference(a, b):
    assert len(a) == len(b)
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_imdb_folder(tmp_path_factory.mktemp("synthetic"), synthetic_reviews(200))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, data):
    """The reference: `--distribute none` (Keras' fit) for 2 epochs; (weights dir, model dir)."""
    tmp = tmp_path_factory.mktemp("one_process")
    log = tmp / "train.log"
    process = start(worker_command(1, tmp / "weights", tmp / "model", data, "--epochs", "2"), log)
    assert finish([process], [log]) == [0], log.read_text()[-3000:]
    return tmp / "weights", tmp / "model"


def test_two_workers_train_as_one_process(tmp_path, data, one_process):
    reference, reference_model = one_process
    out = tmp_path / "out"
    weights = train_workers(tmp_path, data, out / "model", epochs=2)
    for epoch in (1, 2):
        first, second = (epoch_weights(w, epoch) for w in weights)
        assert max_difference(first, second) == 0.0  # the same update on both workers
        assert max_difference(first, epoch_weights(reference, epoch)) < TOLERANCE
    # Only the chief's model directory: no work area left, nothing from worker 1.
    assert sorted(os.listdir(out)) == ["model"]
    for i in (0, 1):
        assert not [name for name in os.listdir(tmp_path / f"tmp{i}") if name.startswith("sentiment_lstm_worker_")]

    import sentiment_lstm

    distributed_model = sentiment_lstm.load(out / "model")
    assert distributed_model.config.distribute == "multi-worker"
    np.testing.assert_allclose(distributed_model.predict_proba(TEXTS),
                               sentiment_lstm.load(reference_model).predict_proba(TEXTS), atol=TOLERANCE)
    history = json.loads((out / "model" / "history.json").read_text())
    assert history["epoch"] == [0.0, 1.0] and len(history["val_loss"]) == 2


def test_mirrored_on_two_logical_cpus_trains_as_one_process(tmp_path, data, one_process):
    reference, _ = one_process
    log = tmp_path / "train.log"
    process = start(worker_command(2, tmp_path / "weights", tmp_path / "model", data, "--epochs", "2",
                                   "--distribute", "mirrored"), log)
    assert finish([process], [log]) == [0], log.read_text()[-3000:]
    for epoch in (1, 2):
        assert max_difference(epoch_weights(tmp_path / "weights", epoch), epoch_weights(reference, epoch)) < TOLERANCE


GRADIENT_CHECK = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sentiment_lstm.training import distributed
    from sentiment_lstm.model import network
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.rnn import fused, packed

    path = sys.argv[1]
    if path == "fused":  # as under XLA: packed sequences do not apply, fused.py runs
        packed.applies = lambda *args: False
    calls = []
    for module in (packed, fused):
        def counted(*args, _run=module.lstm_recurrence, _name=module.__name__, **kwargs):
            calls.append(_name.rsplit(".", 1)[1])
            return _run(*args, **kwargs)
        module.lstm_recurrence = counted
    strategy = distributed.make_strategy("mirrored")
    config = Config(units=3, embed_dim=4, embedding_dropout=0, dense_dropout=0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 30, (5, 7)).astype("int32")
    tokens[1, 2:] = 0
    tokens[3, 5:] = 0
    labels = np.eye(2, dtype="float32")[rng.integers(0, 2, 5)]

    def build():
        token_model = network.build_token_model(30, config)
        token_model.compile(optimizer=keras.optimizers.SGD(1.0), loss="categorical_crossentropy")
        return token_model

    keras.utils.set_random_seed(0)
    with strategy.scope():
        replicated = build()
        replicated.optimizer.build(replicated.trainable_variables)
    before = [v.numpy() for v in replicated.trainable_variables]
    batches = distributed.distribute_batches(strategy, lambda: tf.data.Dataset.from_tensors((tokens, labels)))
    train_step, _ = distributed.make_steps(strategy, replicated, batches.element_spec)
    for batch in batches:
        train_step(batch)
    replica_calls = list(calls)
    plain = build()
    plain.set_weights(replicated.get_weights())
    for v, w in zip(plain.trainable_variables, before):
        v.assign(w)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(labels, plain(tokens, training=True)))
    gradients = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, plain.trainable_variables)]
    moved = [w - v.numpy() for w, v in zip(before, replicated.trainable_variables)]  # SGD(1): the gradient
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "calls": replica_calls,
        "names": [v.path for v in replicated.trainable_variables],
        "error": max(float(np.abs(m - g).max()) for m, g in zip(moved, gradients)),
        "scale": max(float(np.abs(g).max()) for g in gradients),
        "embedding_rows_moved": int((np.abs(moved[0]).sum(axis=1) > 0).sum()),
    }))
""")


@pytest.mark.parametrize("path", ["packed", "fused"])
def test_replicas_gradients_sum_to_the_global_batch_gradient(path):
    """Under `mirrored` with 2 replicas (slices of 2 and 3 reviews), one SGD(1) step moves
    every weight by exactly the gradient of the global batch's mean loss, the sparse
    embedding rows included; each replica runs the project's LSTM path `path`."""
    result = subprocess.run([sys.executable, "-c", GRADIENT_CHECK, path], cwd=ROOT, capture_output=True,
                            text=True, timeout=TIMEOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    check = json.loads(result.stdout.strip().splitlines()[-1])
    assert check["replicas"] == 2
    assert check["calls"] == [path, path]  # traced once in each replica's context
    assert check["error"] < 1e-6 < check["scale"]
    assert check["embedding_rows_moved"] > 5


def test_killed_worker_stops_the_job_which_resumes(tmp_path, data):
    model_dir = tmp_path / "model"
    history_csv = tmp_path / "model.work" / "history.csv"
    command = [sys.executable, "train.py", "--data", str(data), "--model-dir", str(model_dir), *FLAGS,
               "--epochs", "3", "--distribute", "multi-worker"]
    configs = distributed.local_cluster(2)
    logs = [tmp_path / f"run1_worker{i}.log" for i in (0, 1)]
    processes = [start(command, logs[i], configs[i]) for i in (0, 1)]
    deadline = time.monotonic() + TIMEOUT
    while not (history_csv.exists() and len(history_csv.read_text().splitlines()) >= 2):  # epoch 1 done
        assert time.monotonic() < deadline and processes[0].poll() is None, logs[0].read_text()[-3000:]
        time.sleep(0.2)
    processes[1].send_signal(signal.SIGKILL)
    assert finish(processes, logs, timeout=180) == [1, -signal.SIGKILL]
    error = logs[0].read_text()
    assert "error: Training stopped: another worker was lost" in error
    assert "Traceback" not in error and not model_dir.exists()

    logs = [tmp_path / f"run2_worker{i}.log" for i in (0, 1)]
    assert finish([start(command, logs[i], configs[i]) for i in (0, 1)], logs) == [0, 0]
    assert f"Published the model to {model_dir}" in logs[0].read_text()
    assert f"the chief publishes the model to {model_dir}" in logs[1].read_text()
    epochs_run = [line.split()[1] for line in logs[0].read_text().splitlines() if line.startswith("Epoch ")]
    assert epochs_run and epochs_run[0] != "1/3" and epochs_run[-1] == "3/3"  # resumed, not restarted
    history = json.loads((model_dir / "history.json").read_text())
    assert history["epoch"] == [0.0, 1.0, 2.0]


def test_multi_worker_needs_tf_config(monkeypatch):
    from sentiment_lstm.core.errors import UserError

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UserError, match="needs the TF_CONFIG"):
        distributed.read_tf_config()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1"]},
                                                "task": {"type": "worker", "index": 1}}))
    with pytest.raises(UserError, match="TF_CONFIG must be JSON"):
        distributed.read_tf_config()


def test_chief_is_the_chief_task_else_worker_zero(monkeypatch):
    from sentiment_lstm.core.config import Config

    def chief(cluster, task_type, index):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}}))
        return distributed.is_chief(Config(distribute="multi-worker"))

    workers = {"worker": ["a:1", "b:1"]}
    assert chief(workers, "worker", 0) and not chief(workers, "worker", 1)
    with_chief = {"chief": ["c:1"], **workers}
    assert chief(with_chief, "chief", 0) and not chief(with_chief, "worker", 0)
    assert distributed.is_chief(Config(distribute="mirrored"))


def test_replica_batches_split_each_global_batch_in_order():
    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices(tf.range(7)[:, None]).batch(7).concatenate(
        tf.data.Dataset.from_tensor_slices(tf.range(7, 10)[:, None]).batch(3))
    batches = batches.map(lambda x: (x, tf.zeros((tf.shape(x)[0], 2))))

    def shares(pipelines, pipeline, replicas):
        context = tf.distribute.InputContext(pipelines, pipeline, replicas)
        shares = distributed.replica_batches(batches, context, replicas)
        return [(x.numpy().ravel().tolist(), int(n)) for x, _, n in shares]

    assert shares(2, 0, 2) == [([0, 1, 2], 7), ([7], 3)]
    assert shares(2, 1, 2) == [([3, 4, 5, 6], 7), ([8, 9], 3)]
    # one pipeline, 4 replicas (mirrored on 4 devices): every slice, in order, each once
    assert shares(1, 0, 4) == [([0], 7), ([1, 2], 7), ([3, 4], 7), ([5, 6], 7),
                               ([], 3), ([7], 3), ([8], 3), ([9], 3)]


def test_jit_compile_is_refused_with_distribute():
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.core.errors import UserError

    with pytest.raises(UserError, match="--jit-compile does not apply with --distribute"):
        Config(distribute="mirrored", jit_compile=True, deterministic=False)
    assert Config(distribute="mirrored").distribute == "mirrored"
