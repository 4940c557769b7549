"""Beyond zero-shot: linear probe, few-shot and partial fine-tuning of a CLIP classifier; checkpoints eval loads."""

import numpy as np
import pytest
import torch
from conftest import synthetic_faces
from helpers import tiny_dir

from ferbench.data.dataset import Dataset
from ferbench.emotions import EMOTIONS
from ferbench.models import load_predictor
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.preprocess import to_tensor
from ferbench.models.vlm.finetune import finetune, set_trainable
from ferbench.models.vlm.probe import few_shot_indices, fit_probe, head_from_logreg, train_probe


def dataset(n: int, split: str, seed: int) -> Dataset:
    images, labels = synthetic_faces(n, seed=seed)
    return Dataset(images=images, labels=labels.astype(np.int64), splits=np.array([split] * n),
                   ids=np.array([f"{split}-{i}" for i in range(n)]), source="synthetic", source_hash="0" * 64)


@pytest.fixture(scope="module")
def clip():
    return load_predictor("clip", tiny_dir("open_clip"))


def test_few_shot_draw_is_seeded_and_balanced():
    labels = np.arange(70) % 7
    a, b = few_shot_indices(labels, 3, seed=1), few_shot_indices(labels, 3, seed=1)
    assert (a == b).all() and np.bincount(labels[a], minlength=7).tolist() == [3] * 7
    assert not (a == few_shot_indices(labels, 3, seed=2)).all()
    with pytest.raises(ValueError, match="'angry' has only 10"):
        few_shot_indices(labels, 11, seed=0)


def test_probe_on_separable_embeddings_and_fer_ordered_head():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(7, 16)) * 3
    y = np.arange(700) % 7
    x = centres[y] + rng.normal(size=(700, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    clf, table = fit_probe(x[:560], y[:560], x[560:], y[560:], cs=(0.1, 10.0))
    assert max(r["val_accuracy"] for r in table) > 0.95
    weight, bias = head_from_logreg(clf, 16)
    logits = torch.from_numpy(x[560:]).float() @ weight.T + bias
    assert np.allclose(torch.softmax(logits, 1).numpy(), clf.predict_proba(x[560:]), atol=1e-5)
    # Trained without "fear": the head would shift rows by position; it is refused instead.
    keep = y[:560] != EMOTIONS.index("fear")
    clf6, _ = fit_probe(x[:560][keep], y[:560][keep], x[560:], y[560:], cs=(1.0,))
    with pytest.raises(ValueError, match="no training samples of fear"):
        head_from_logreg(clf6, 16)


def test_train_probe_writes_a_checkpoint_eval_loads(clip, tmp_path):
    train, val = dataset(70, "Training", 0), dataset(21, "PublicTest", 1)
    module, report = train_probe(clip, train, val, shots=4, cs=(1.0, 100.0), progress=False)
    assert report["n_train"] == 28 and report["method"] == "few_shot" and len(report["C_table"]) == 2
    assert module.encoder is clip.module.encoder  # frozen: the encoder is shared, not retrained
    path = save_checkpoint(module, clip.config, tmp_path / "probe")
    again = load_predictor(None, path)
    x = val.images[:5]
    with torch.no_grad():
        expected = module(to_tensor(x, clip.config.preprocess)).softmax(1).numpy()
    assert np.allclose(again.predict(x).proba, expected, atol=1e-5)
    full, _ = train_probe(clip, train, val, cs=(1.0,), progress=False)  # embeddings now come from the cache
    assert torch.equal(full.encoder.conv1.weight, module.encoder.conv1.weight)


def test_partial_unfreeze_selects_last_blocks_and_after(clip):
    module = clip.module
    names = set_trainable(module, 1)
    assert "head.weight" in names and "encoder.proj" in names and "encoder.ln_post.weight" in names
    assert any(n.startswith("encoder.transformer.resblocks.1.") for n in names)
    assert not any(n.startswith("encoder.transformer.resblocks.0.") for n in names)
    assert not {"encoder.conv1.weight", "encoder.positional_embedding", "encoder.class_embedding"} & set(names)
    assert set_trainable(module, 0) == ["head.weight", "head.bias"]
    hf = load_predictor("siglip", tiny_dir("siglip")).module
    names = set_trainable(hf, 1)
    assert any(".encoder.layers.1." in n for n in names) and not any(".encoder.layers.0." in n for n in names)
    assert not any("embeddings" in n for n in names) and any("post_layernorm" in n for n in names)
    module.requires_grad_(False)


def test_finetune_trains_only_what_is_unfrozen(clip, tmp_path):
    train, val = dataset(28, "Training", 0), dataset(14, "PublicTest", 1)
    before = {k: v.clone() for k, v in clip.module.state_dict().items()}
    module, report = finetune(clip, train, val, unfreeze=1, epochs=2, lr=1e-3, batch_size=8, progress=False)
    after = module.state_dict()
    assert torch.equal(after["encoder.conv1.weight"], before["encoder.conv1.weight"])
    assert all(torch.equal(v, before[k]) for k, v in clip.module.state_dict().items())  # the original is untouched
    if report["best_epoch"] > 0:
        assert not torch.equal(after["encoder.transformer.resblocks.1.mlp.c_fc.weight"],
                               before["encoder.transformer.resblocks.1.mlp.c_fc.weight"])
    assert len(report["history"]) == 3 and report["trainable_params"] < sum(p.numel() for p in module.parameters())
    path = save_checkpoint(module, clip.config, tmp_path / "ft")
    again = load_predictor(None, path)
    assert again.predict(val.images[:3]).proba.shape == (3, 7)
