"""The image-folder reader: layouts, alias class names, FER-order indices, and bad files."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import synthetic_faces
from ferbench.data import DataError, load_dataset
from ferbench.data.folder import read_image_folder
from ferbench.emotions import INDEX


def _make(root, layout: dict[str, dict[str, int]], size=48, mode="L"):
    images, _ = synthetic_faces(100, size=size)
    k = 0
    for split, classes in layout.items():
        for cls, count in classes.items():
            folder = root / split / cls if split else root / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                img = Image.fromarray(images[k % 100]).convert(mode)
                img.save(folder / f"{i:03d}.png")
                k += 1
    return root


def test_fer_image_folder_layout(tmp_path):
    root = _make(tmp_path / "fer", {"train": {"angry": 2, "happy": 3, "neutral": 1}, "test": {"angry": 1, "happy": 1}})
    ds = read_image_folder(root)
    assert len(ds) == 8 and ds.images.shape[1:] == (48, 48) and ds.mode == "L"
    assert ds.split_names == ["Training", "test"]  # test/ of the image version is Public+Private together
    happy = ds.ids.tolist().index("train/happy/000.png")
    assert ds.labels[happy] == INDEX["happy"] == 3  # FER index, not alphabetical position (2)


def test_alias_class_names_and_unsplit_layout(tmp_path):
    root = _make(tmp_path / "ck", {"": {"anger": 1, "Happiness": 1, "surprised": 1, "sadness": 1, "fearful": 1,
                                        "disgusted": 1, "calm": 1}})
    ds = read_image_folder(root)
    assert ds.split_names == ["Unsplit"]
    by_id = dict(zip(ds.ids.tolist(), ds.labels.tolist()))
    assert by_id == {"anger/000.png": 0, "disgusted/000.png": 1, "fearful/000.png": 2, "Happiness/000.png": 3,
                     "sadness/000.png": 4, "surprised/000.png": 5, "calm/000.png": 6}


def test_unknown_class_folder_is_an_error(tmp_path):
    root = _make(tmp_path / "x", {"train": {"happy": 1, "contempt": 1}})
    with pytest.raises(DataError, match=r"class folder\(s\) \['contempt'\] are not emotions"):
        read_image_folder(root)


def test_colour_and_mixed_sizes(tmp_path):
    root = _make(tmp_path / "c", {"train": {"happy": 2}}, mode="RGB")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(root / "train" / "happy" / "big.png")
    with pytest.raises(DataError, match="different sizes.*--size"):
        read_image_folder(root)
    ds = read_image_folder(root, size=32)
    assert ds.images.shape == (3, 32, 32, 3) and ds.mode == "RGB"


def _png_header_only(path, width, height):
    """A PNG whose header claims width×height, with a tiny (invalid) body: enough to trip PIL's bomb check."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("kind", ["corrupt", "not-image", "bomb", "truncated"])
def test_bad_files(tmp_path, kind):
    root = _make(tmp_path / "bad", {"train": {"happy": 3}})
    target = root / "train" / "happy"
    if kind == "corrupt":
        (target / "zz.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png body")
        expect = "train/happy/zz.png: corrupt or unreadable image"
    elif kind == "not-image":
        (target / "notes.txt").write_text("hello")
        expect = "train/happy/notes.txt: not an image file"
    elif kind == "bomb":
        _png_header_only(target / "zz.png", 100_000, 100_000)
        expect = "train/happy/zz.png: image too large (decompression bomb guard)"
    else:
        data = (target / "000.png").read_bytes()
        (target / "zz.png").write_bytes(data[: len(data) // 2])
        expect = "train/happy/zz.png: corrupt or unreadable image"
    with pytest.raises(DataError) as err:
        read_image_folder(root)
    assert str(root) in str(err.value) and expect in str(err.value)
    ds = read_image_folder(root, on_bad="skip")
    assert len(ds) == 3 and ds.report["skipped"]["count"] == 1


def test_max_pixels_setting(tmp_path):
    root = _make(tmp_path / "m", {"train": {"happy": 1}})
    with pytest.raises(DataError, match="decompression bomb"):
        read_image_folder(root, max_pixels=100)


def test_load_dataset_dispatches_on_folders(tmp_path):
    root = _make(tmp_path / "d", {"train": {"happy": 1}, "val": {"sad": 1}})
    assert load_dataset(root, split="PublicTest").labels.tolist() == [INDEX["sad"]]


def test_16_bit_png_keeps_its_grey_levels(tmp_path):
    folder = tmp_path / "ds" / "happy"
    folder.mkdir(parents=True)
    deep = (np.arange(48 * 48, dtype=np.uint32).reshape(48, 48) * 28).astype(np.uint16)  # 0..64484
    Image.fromarray(deep).save(folder / "a.png")
    assert Image.open(folder / "a.png").mode.startswith("I")
    ds = read_image_folder(tmp_path / "ds")
    np.testing.assert_array_equal(ds.images[0], np.rint(deep / 257).astype(np.uint8))  # not clipped to white


def test_exif_orientation_is_applied_as_predict_does(tmp_path):
    from ferbench.predict.pipeline import load_image

    folder = tmp_path / "ds" / "sad"
    folder.mkdir(parents=True)
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, :8] = 255  # a bright left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(folder / "phone.jpg", exif=exif, quality=95)
    ds = read_image_folder(tmp_path / "ds")
    assert ds.image_size == (64, 48)  # upright: tall, not wide
    assert ds.images[0][:8].mean() > 200 and ds.images[0][-8:].mean() < 50  # the left edge is now on top
    np.testing.assert_array_equal(ds.images[0], load_image(folder / "phone.jpg")[1])


def test_sub_folder_inside_a_class_folder_is_not_given_its_label(tmp_path):
    root = _make(tmp_path / "ds", {"": {"happy": 2, "sad": 1}})
    nested = root / "happy" / "maybe_sad"
    nested.mkdir()
    Image.fromarray(synthetic_faces(1)[0][0]).save(nested / "x.png")
    with pytest.raises(DataError, match=r"happy/maybe_sad/x.png: inside sub-folder maybe_sad/ of class folder happy/"):
        read_image_folder(root)
    ds = read_image_folder(root, on_bad="skip")
    assert len(ds) == 3 and ds.report["skipped"]["ids"] == ["happy/maybe_sad/x.png"]


def test_hidden_folders_and_stray_files_are_not_classes_or_splits(tmp_path):
    root = _make(tmp_path / "h", {"train": {"happy": 1, "sad": 1}})
    (root / ".cache" / "happy").mkdir(parents=True)  # e.g. a tool's hidden folder at the top
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "README.txt").write_text("about this data")
    (root / "train" / "notes.md").write_text("labels by two raters")
    ds = read_image_folder(root)
    assert sorted(ds.ids.tolist()) == ["train/happy/000.png", "train/sad/000.png"]
    assert ds.labels.tolist() == [INDEX["happy"], INDEX["sad"]] and ds.split_names == ["Training"]


def test_layout_errors_name_the_folder_and_the_problem(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "file.png").write_bytes(b"")
    with pytest.raises(DataError) as err:
        read_image_folder(empty)
    assert str(empty) in str(err.value)
    assert str(err.value).endswith("no sub-folders: expected <class>/ or <split>/<class>/ folders of images")
    root = _make(tmp_path / "s", {"train": {"happy": 1}})
    (root / "test").mkdir()
    with pytest.raises(DataError, match=r"cannot read test/ as a split: it has no class folders; class folders must "
                                        r"be FER emotions or synonyms \(angry, disgust, fear, happy, sad, surprise, "
                                        r"neutral\)") as err:
        read_image_folder(root)
    assert str(root) in str(err.value)
