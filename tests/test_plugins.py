"""Every registered plug-in, by construction (a new model, restorer or reader is tested without editing a list)."""

from __future__ import annotations

import pytest

from ferbench.data.readers import READERS, list_readers
from ferbench.degrade import list_degradations
from ferbench.models import create_model, get_model_entry, list_models
from ferbench.models.registry import builds_module
from ferbench.restore import get_restorer_entry, list_restorers


@pytest.mark.parametrize("name", list_models())
def test_every_model_entry_keeps_the_contract(name):
    entry = get_model_entry(name)
    assert entry.meta.get("family") and entry.description, f"{name}: family and description"
    assert builds_module(entry) or callable(entry.meta.get("predictor"))
    if not builds_module(entry):  # predictor-only: a clear refusal, not a TypeError from the loader
        with pytest.raises(ValueError, match=f"model '{name}' .*is loaded, not built: use load_predictor"):
            create_model(name)


@pytest.mark.parametrize("name", list_models(family="cnn"))
def test_every_trainable_cnn_gives_seven_fer_logits(name):
    import torch

    module = create_model(name, in_chans=1, input_size=48).eval()
    with torch.no_grad():
        assert module(torch.zeros(2, 1, 48, 48)).shape == (2, 7)


@pytest.mark.parametrize("name", list_restorers())
def test_every_restorer_declares_its_output(name):
    entry = get_restorer_entry(name)
    assert entry.meta.get("output") in ("input", "rgb") and entry.description


def test_built_in_plug_ins_are_discovered_without_a_list():
    assert {"fernet", "fernet_ensemble", "clip", "tiny_cnn", "keras_graph"} <= set(list_models())
    assert {"identity", "gfpgan"} <= set(list_restorers()) and "jpeg" in list_degradations()
    assert {"fer_csv", "image_folder"} <= set(list_readers())


def test_load_dataset_reads_through_the_reader_registry(tmp_path):
    import numpy as np

    from ferbench.data import Dataset, load_dataset
    from ferbench.data.readers import reader_for, register_reader

    (tmp_path / "faces.npz").write_bytes(b"")
    assert reader_for(tmp_path).name == "image_folder" and reader_for(tmp_path / "faces.npz").name == "fer_csv"

    def read_npz(path, on_bad=None, size=None, use_cache=True):
        n = 3
        return Dataset(images=np.zeros((n, 8, 8), np.uint8), labels=np.zeros(n, np.int64),
                       splits=np.array(["Training"] * n), ids=np.array(["a", "b", "c"]), source=str(path),
                       source_hash="0" * 64)

    register_reader("test_npz", accepts=lambda path: path.suffix == ".npz")(read_npz)
    try:
        assert reader_for(tmp_path / "faces.npz").name == "test_npz"
        assert len(load_dataset(tmp_path / "faces.npz")) == 3
    finally:
        READERS._entries.pop("test_npz")
