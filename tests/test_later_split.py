"""`scripts/later_split.py`: the latest messages of each class (by article number) validate."""
import io
import re
import tarfile

from script_runner import run_script


def archive_of(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_the_latest_numbers_of_each_class_validate_and_the_test_split_is_left_out(tmp_path):
    files = {f"20news-bydate-train/{group}/{number}": f"{group} message {number} about {group} things"
             for group, numbers in (("sci.space", (105, 9, 31)), ("rec.autos", (7, 1002, 88, 120)))
             for number in numbers}
    files["20news-bydate-test/sci.space/2000"] = "a later test message"
    archive_of(tmp_path / "news.tar.gz", files)
    out = tmp_path / "later"
    result = run_script("scripts/later_split.py", "--data", str(tmp_path / "news.tar.gz"), "--out", str(out),
                        "--fraction", "0.3", "--tfidf")
    assert result.returncode == 0, result.stderr.decode()
    # By hand: 0.3 of 3 and of 4 files rounds to 1, the highest number of each class.
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "train/rec.autos/120", "train/rec.autos/7", "train/rec.autos/88", "train/sci.space/31", "train/sci.space/9",
        "validation/rec.autos/1002", "validation/sci.space/105"]
    assert (out / "validation/sci.space/105").read_text() == files["20news-bydate-train/sci.space/105"]
    assert re.search(r"TF-IDF \+ logistic regression on its validation split: \d+\.\d\d%", result.stdout.decode())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left

    again = run_script("scripts/later_split.py", "--data", str(tmp_path / "news.tar.gz"), "--out", str(out))
    assert again.returncode == 1 and again.stderr.decode().strip() == f"error: {out} exists already; give a new folder."
    missing = run_script("scripts/later_split.py", "--data", str(tmp_path / "none.tar.gz"),
                         "--out", str(tmp_path / "x"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr.decode()
