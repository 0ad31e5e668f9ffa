"""streaming.py and `predict` on files: readers of lines, tables and JSON lines, chunks read
lazily (bounded memory), progress lines, the atomic `--out` in JSON lines or as the table
with its predictions, and the command itself on a real file."""
import csv
import io
import json

import numpy as np
import pytest

from conftest import publish_tiny
from script_runner import run_script
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.progress import Progress
from sentiment_lstm.data import streaming
from sentiment_lstm.inference import classify, score_files

TEXTS = ["a good good film", "a bad bad film", "good acting", "bad plot, bad acting!"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A published (untrained) model directory over a vocabulary adapted on TEXTS."""
    return publish_tiny(tmp_path_factory.mktemp("models") / "tiny", TEXTS, max_length=50)


def reviews(*args, **kwargs):
    return [review for review, _ in streaming.iter_records(*args, **kwargs)]


def test_lines_tables_and_json_lines_are_read_in_order(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"good\r\n\xff broken\n\nlast")
    (tmp_path / "b.csv").write_text('id,Review,label\n1,"A good, good film",1\n,,\n2,"two\nlines",0\n', newline="")
    (tmp_path / "c.tsv").write_text("text\nbad plot\n")
    (tmp_path / "d.jsonl").write_text('{"text": "émoji 😀"}\n\n{"review": "a review key", "x": 1}\n')
    names = [str(tmp_path / n) for n in ("a.txt", "b.csv", "c.tsv", "d.jsonl")]
    assert reviews(["first"], names) == ["first", "good", "\ufffd broken", "", "last", "A good, good film",
                                         "two\nlines", "bad plot", "émoji 😀", "a review key"]
    assert reviews(files=[names[1]], text_column="id") == ["1", "2"]
    records = list(streaming.iter_records(files=[names[1]]))
    assert records[0] == ("A good, good film", ["1", "A good, good film", "1"])


@pytest.mark.parametrize("content, name, column, message", [
    ("id,label\n1,0\n", "t.csv", None, "has no text column .*its columns are 'id', 'label'"),
    ("text\n", "t.csv", "body", "has no text column 'body'; its columns are 'text'"),
    ("a,text\nonly one\n", "t.csv", None, "Line 2 of .* has 1 field"),
    ('{"text": "ok"}\nnot json\n', "t.jsonl", None, "Line 2 of .* is not JSON"),
    ('{"text": 3}\n', "t.jsonl", None, "Line 1 of .* has no .*'text'.* string"),
])
def test_bad_inputs_are_one_sentence(tmp_path, content, name, column, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=message):
        reviews(files=[str(tmp_path / name)], text_column=column)
    with pytest.raises(UserError, match="Cannot read"):
        streaming.check_inputs([str(tmp_path / "missing.txt")])


def test_main_reads_the_input_chunk_by_chunk(tmp_path, monkeypatch, model_dir):
    """Memory stays bounded: when chunk k is scored, no more than k + 1 chunks were read."""
    read = []
    records = ((f"review {k}", None) for k in range(10) if not read.append(k))
    monkeypatch.setattr(streaming, "iter_records", lambda *a, **k: records)
    monkeypatch.setattr(score_files, "CHUNK", 3)
    scored = []
    original = classify.Classifier.predict
    monkeypatch.setattr(classify.Classifier, "predict",
                        lambda self, texts, **kw: scored.append((len(read), len(texts))) or original(self, texts, **kw))
    score_files.main(model_dir, files=[], out=tmp_path / "out.jsonl", progress=False)
    assert scored == [(3, 3), (6, 3), (9, 3), (10, 1)]
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 10


def test_out_is_the_table_with_predictions_or_json_lines(tmp_path, model_dir, capsys):
    table = tmp_path / "reviews.csv"
    table.write_text('id,review,label\n1,"A good, good film",1\n2,bad plot,0\n3,,1\n', newline="")
    score_files.main(model_dir, files=[str(table)], out=tmp_path / "scored.csv", progress=True)
    expected = classify.load(model_dir).predict(["A good, good film", "bad plot", ""])
    with open(tmp_path / "scored.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "review", "label", "predicted_label", "score"]
    assert [row[:3] for row in rows[1:]] == [["1", "A good, good film", "1"], ["2", "bad plot", "0"], ["3", "", "1"]]
    for row, prediction in zip(rows[1:], expected):
        assert row[3] == prediction["label"] and float(row[4]) == pytest.approx(prediction["score"], abs=1e-6)
    assert "3 texts" in capsys.readouterr().err  # the progress line, on stderr

    score_files.main(model_dir, ["good"], [str(table)], out=tmp_path / "all.jsonl", progress=False)
    lines = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert lines[1:] == expected and set(lines[0]) == {"label", "score", "scores", "known_words"}


def test_a_failed_run_leaves_no_out_file(tmp_path, model_dir):
    (tmp_path / "bad.jsonl").write_text('{"text": "good"}\nnot json\n')
    (tmp_path / "out.jsonl").write_text("the old predictions\n")
    with pytest.raises(UserError, match="not JSON"):
        score_files.main(model_dir, files=[str(tmp_path / "bad.jsonl")], out=tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_text() == "the old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "out.jsonl"]


def test_progress_lines_report_rate_and_eta():
    stream, now = io.StringIO(), [0.0]
    progress = Progress(stream, bar=False, interval=5.0, clock=lambda: now[0])
    progress.add_bytes_total(1000)
    progress.add_bytes_done(250)
    now[0] = 2.0
    progress.update(100)  # within the interval: nothing
    now[0] = 10.0
    progress.update(400)
    progress.add_bytes_done(750)
    progress.update(0, final=True)
    assert stream.getvalue().splitlines() == ["500 texts, 50/s, 25% of the input, ETA 0:30",
                                              "500 texts, 50/s, 100% of the input"]


def test_predict_command_scores_a_file_into_out(tmp_path, model_dir):
    reviews_file = tmp_path / "reviews.txt"
    reviews_file.write_bytes(b"Great film!\r\n\xff broken\n\n" + b"long " * 20_000 + b"\n")
    result = run_script("predict.py", "--model-dir", str(model_dir), "--file", str(reviews_file),
                        "--out", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    progress = result.stderr.decode().splitlines()  # not a terminal: whole lines
    assert progress and progress[-1].startswith("4 texts, ") and "100% of the input" in progress[-1]
    expected = classify.load(model_dir).predict_proba(["Great film!", "\ufffd broken", "", "long " * 20_000])
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["score"] for line in lines] == pytest.approx(expected.max(axis=1).tolist(), abs=1e-6)
    assert [line["label"] for line in lines] == [("negative", "positive")[k] for k in np.argmax(expected, 1)]


@pytest.mark.parametrize("bar", [False, True])
def test_the_final_progress_line_is_written_once(bar):
    stream, now = io.StringIO(), [0.0]
    progress = Progress(stream, bar=bar, interval=5.0 if not bar else 0.2, clock=lambda: now[0])
    progress.add_bytes_total(100)
    progress.add_bytes_done(40)
    now[0] = 10.0
    progress.update(1_000)  # "1,000 texts, 100/s, 40% of the input, ETA 0:15"
    progress.add_bytes_done(60)
    now[0] = 20.0
    progress.update(1_000)  # the last chunk: everything read
    now[0] = 21.0
    progress.update(0, final=True)  # nothing new: the line ends, no second copy
    shown = stream.getvalue()
    assert shown.count("2,000 texts") == 1 and shown.endswith("\n") and shown.count("\n") == (1 if bar else 2)
    if bar:  # the shorter last line covers the longer one before it
        assert shown == ("\r1,000 texts, 100/s, 40% of the input, ETA 0:15"
                         "\r" + "2,000 texts, 100/s, 100% of the input".ljust(46) + "\n")


def test_n_classes_stream_every_score_and_all_scores_adds_a_column_per_class(tmp_path):
    """A 3-class model: JSON lines carry the three scores; a table with --all-scores
    gains label, score and score_<class> in the model's order (`predicted_` where the
    table has the name)."""
    classes = ("sport", "score", "music")
    directory = publish_tiny(tmp_path / "three", TEXTS, max_length=50, labels=classes)
    table = tmp_path / "texts.tsv"
    table.write_text("text\tscore_music\ngood acting\t0.5\na bad bad film\t0.1\n")
    score_files.main(directory, files=[str(table)], out=tmp_path / "scored.tsv", progress=False, all_scores=True)
    expected = classify.load(directory).predict(["good acting", "a bad bad film"])
    with open(tmp_path / "scored.tsv", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["text", "score_music", "label", "score", "score_sport", "score_score",
                       "predicted_score_music"]  # the table's own score_music kept
    for row, prediction in zip(rows[1:], expected):
        assert row[2] == prediction["label"] in classes
        values = [float(v) for v in row[4:]]
        assert values == pytest.approx([prediction["scores"][c] for c in classes], abs=1e-6)
        assert sum(values) == pytest.approx(1, abs=1e-5) and float(row[3]) == pytest.approx(max(values), abs=1e-6)
    score_files.main(directory, ["good acting"], out=tmp_path / "one.jsonl", progress=False)
    (line,) = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    assert list(line["scores"]) == list(classes) and line == expected[0]
