"""The Kaggle CSV reader: variants, splits, caching, and every kind of bad input."""

import gzip

import numpy as np
import pytest

from conftest import synthetic_faces, write_fer_csv
from ferbench.data import DataError, OnBad, load_dataset
from ferbench.data.cache import cached_read
from ferbench.data.fer_csv import read_fer_csv


def test_reads_images_labels_splits_and_ids(fer_csv):
    ds = read_fer_csv(fer_csv)
    images, labels = synthetic_faces(70)
    assert ds.images.shape == (70, 48, 48) and ds.images.dtype == np.uint8
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.split_names == ["Training", "PublicTest", "PrivateTest"]
    assert ds.ids[0] == "0" and ds.ids[-1] == "69"  # ids are 0-based data row numbers
    assert len(ds.source_hash) == 64 and ds.mode == "L"


def test_gzip_and_icml_variant_read_the_same(tmp_path, fer_csv):
    images, labels = synthetic_faces(70)
    usages = ["Training"] * 42 + ["PublicTest"] * 14 + ["PrivateTest"] * 14
    icml = write_fer_csv(tmp_path / "icml_face_data.csv", images, labels, usages, header="emotion, Usage, pixels")
    gz = tmp_path / "fer2013.csv.gz"
    gz.write_bytes(gzip.compress(fer_csv.read_bytes()))
    a, b, c = read_fer_csv(fer_csv), read_fer_csv(icml), read_fer_csv(gz)
    for other in (b, c):
        np.testing.assert_array_equal(a.images, other.images)
        np.testing.assert_array_equal(a.labels, other.labels)
        np.testing.assert_array_equal(a.splits, other.splits)


def test_split_selection_and_aliases(fer_csv):
    assert len(load_dataset(fer_csv, split="PrivateTest")) == 14
    assert len(load_dataset(fer_csv, split=["train", "val"])) == 56
    with pytest.raises(ValueError, match="no split Validation2; splits present: Training, PublicTest, PrivateTest"):
        load_dataset(fer_csv, split="Validation2")


def test_cache_hit_returns_identical_data_and_changes_with_content(fer_csv, tmp_path):
    first = cached_read(fer_csv, read_fer_csv, {"on_bad": "error"})
    second = cached_read(fer_csv, read_fer_csv, {"on_bad": "error"})
    np.testing.assert_array_equal(first.images, second.images)
    assert first.fingerprint == second.fingerprint
    images, labels = synthetic_faces(70, seed=1)
    write_fer_csv(fer_csv, images, labels, ["Training"] * 70)
    third = cached_read(fer_csv, read_fer_csv, {"on_bad": "error"})
    np.testing.assert_array_equal(third.images, images)  # new content, new key: never a stale entry
    assert third.source_hash != first.source_hash


def test_corrupt_cache_entry_is_rebuilt(fer_csv, tmp_path, monkeypatch):
    from ferbench.utils.io import cache_dir

    cached_read(fer_csv, read_fer_csv, {"on_bad": "error"})
    for f in cache_dir("datasets").glob("*.npz"):
        f.write_bytes(b"garbage")
    ds = cached_read(fer_csv, read_fer_csv, {"on_bad": "error"})
    assert len(ds) == 70


def _rows(n=5):
    images, labels = synthetic_faces(n)
    return [[str(l), " ".join(map(str, img.ravel())), "Training"] for img, l in zip(images, labels)]


def _write(tmp_path, rows, header="emotion,pixels,Usage"):
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


BAD_CASES = {
    "wrong pixel count": (lambda r: r[2].__setitem__(1, " ".join(r[2][1].split()[:-1])), "row 2 (line 4): wrong pixel count: 2303"),
    "non-numeric pixel": (lambda r: r[3].__setitem__(1, r[3][1].replace(" ", " x7 ", 1)), "row 3 (line 5): non-numeric pixel value 'x7'"),
    "pixel out of range": (lambda r: r[1].__setitem__(1, "256 " + r[1][1].split(" ", 1)[1]), "row 1 (line 3): pixel value 256 out of range"),
    "label out of range": (lambda r: r[4].__setitem__(0, "7"), "row 4 (line 6): label 7 out of range 0-6"),
    "label not integer": (lambda r: r[0].__setitem__(0, "happy"), "row 0 (line 2): label 'happy' is not an integer"),
    "unknown usage": (lambda r: r[2].__setitem__(2, "Validation"), "row 2 (line 4): unknown Usage value 'Validation' (expected Training, PublicTest, PrivateTest)"),
    "empty pixels": (lambda r: r[1].__setitem__(1, ""), "row 1 (line 3): empty pixels field"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_rows_error_names_file_row_and_problem(tmp_path, case):
    rows = _rows()
    mutate, message = BAD_CASES[case]
    mutate(rows)
    path = _write(tmp_path, rows)
    with pytest.raises(DataError) as err:
        read_fer_csv(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_rows_skip_reports_count_and_ids(tmp_path, case):
    rows = _rows()
    mutate, message = BAD_CASES[case]
    mutate(rows)
    bad_row = int(message.split()[1])
    ds = read_fer_csv(_write(tmp_path, rows), on_bad=OnBad.skip)
    assert len(ds) == 4 and str(bad_row) not in ds.ids.tolist()
    assert ds.report["skipped"]["count"] == 1 and ds.report["skipped"]["ids"] == [str(bad_row)]
    good = [i for i in range(5) if i != bad_row]
    np.testing.assert_array_equal(ds.images, synthetic_faces(5)[0][good])  # nothing made up


def test_many_bad_rows_are_all_counted(tmp_path):
    rows = _rows(300)  # spans several parser blocks
    for r in (5, 130, 299):
        rows[r][1] = rows[r][1] + " 12"
    with pytest.raises(DataError, match=r"row 5 \(line 7\).*3 bad rows in all"):
        read_fer_csv(_write(tmp_path, rows))
    ds = read_fer_csv(_write(tmp_path, rows), on_bad="skip")
    assert ds.report["skipped"]["ids"] == ["5", "130", "299"] and len(ds) == 297


def test_missing_columns_and_empty_files(tmp_path):
    rows = [[r[0], r[1]] for r in _rows()]
    with pytest.raises(DataError, match="missing column.s. pixels"):
        read_fer_csv(_write(tmp_path, [[r[0], r[2]] for r in _rows()], header="emotion,Usage"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: empty file"):
        read_fer_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("emotion,pixels,Usage\n")
    with pytest.raises(DataError, match="no data rows"):
        read_fer_csv(header_only)
    # Kaggle's train.csv has no Usage column: readable, as one unsplit split.
    assert read_fer_csv(_write(tmp_path, rows, header="emotion,pixels")).split_names == ["Unsplit"]


def test_not_a_csv(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="image.csv"):
        read_fer_csv(path)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.csv")


def test_utf8_bom_is_not_part_of_the_header(tmp_path, fer_csv):
    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + fer_csv.read_bytes())
    a, b = read_fer_csv(fer_csv), read_fer_csv(bom)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_pixel_count_is_not_taken_from_the_first_row(tmp_path):
    rows = _rows(6)
    rows[0][1] = " ".join(rows[0][1].split()[:100])  # a truncated first row that happens to be 10×10
    path = _write(tmp_path, rows)
    with pytest.raises(DataError, match=r"row 0 \(line 2\): wrong pixel count: 100 values, expected 2304"):
        read_fer_csv(path)
    ds = read_fer_csv(path, on_bad="skip")
    assert len(ds) == 5 and ds.image_size == (48, 48) and ds.report["skipped"]["ids"] == ["0"]
