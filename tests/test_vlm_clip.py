"""CLIP-family zero-shot on tiny random open_clip / transformers CLIP / SigLIP models, from local dirs."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import faces, tiny_dir

from ferbench.emotions import EMOTIONS, INDEX
from ferbench.models import load_predictor
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.vlm.clip import ClipPredictor

CLIP_ORDER = ["angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]  # alphabetical, as CLIP's


@pytest.fixture(scope="module")
def predictors():
    return {name: load_predictor(name, tiny_dir(kind))
            for name, kind in (("clip", "open_clip"), ("hf_clip", "hf_clip"), ("siglip", "siglip"))}


@pytest.mark.parametrize("name", ["clip", "hf_clip", "siglip"])
def test_probabilities_fer_ordered(predictors, name):
    p = predictors[name]
    for images in (faces(5), faces(5, rgb=True)):
        out = p.predict(images)
        assert out.proba.shape == (5, 7) and np.allclose(out.proba.sum(1), 1, atol=1e-5)
        assert (out.pred == out.proba.argmax(1)).all()
    assert p.classes == EMOTIONS
    cost = p.cost_info()
    assert cost["params"] > 0 and cost["flops_per_image"] > 0


def _manual_class_embedding(name: str, templates, names) -> torch.Tensor:
    """The class embedding computed independently of ferbench, with open_clip's own API."""
    import open_clip

    src = f"local-dir:{tiny_dir('open_clip')}"
    model, tok = open_clip.create_model(src).eval(), open_clip.get_tokenizer(src)
    with torch.no_grad():
        emb = F.normalize(model.encode_text(tok([t.format(n) for t in templates for n in names])), dim=-1)
    return F.normalize(emb.mean(0), dim=0) * model.logit_scale.exp()


def test_head_rows_follow_fer_order_whatever_the_class_list_order(predictors):
    # CLIP's class list is alphabetical: a positional mapping would put "neutral" in FER row 4 (sad).
    p = load_predictor("clip", tiny_dir("open_clip"), classnames=CLIP_ORDER, prompts="simple")
    head = p.module.head.weight.detach()
    for emotion, name in (("neutral", "neutral"), ("sad", "sad"), ("disgust", "disgusted")):
        expected = _manual_class_embedding(emotion, ["a photo of a {} face."], [name])
        assert torch.allclose(head[INDEX[emotion]], expected, atol=1e-5), emotion
    # The same names in reverse order, or as a mapping, give identical probability columns.
    reverse = load_predictor("clip", tiny_dir("open_clip"), classnames=CLIP_ORDER[::-1], prompts="simple")
    mapping = load_predictor("clip", tiny_dir("open_clip"), prompts="simple",
                             classnames={n: [n] for n in sorted(CLIP_ORDER, key=len)})
    x = faces(8)
    for other in (reverse, mapping):
        assert np.allclose(other.predict(x).proba, p.predict(x).proba, atol=1e-6)


def test_wrong_class_list_is_refused():
    # Seven names, but "happy" twice and no neutral: refused, not mapped by position.
    with pytest.raises(ValueError, match="'happy' and 'happy' both name 'happy'"):
        load_predictor("clip", tiny_dir("open_clip"), classnames=CLIP_ORDER[:4] + ["sad", "surprised", "happy"])
    with pytest.raises(ValueError, match="no entry for neutral"):
        load_predictor("clip", tiny_dir("open_clip"), classnames=CLIP_ORDER[:4] + ["sad", "surprised"])


def test_prompt_ensembling_changes_the_head(predictors):
    p = predictors["clip"]
    assert len(p.templates) == 6  # clip_fer2013 by default
    q = p.with_prompts("simple")
    assert q.module.encoder is p.module.encoder
    assert not torch.allclose(q.module.head.weight, p.module.head.weight)
    assert q.describe()["weights_sha256"] != p.describe()["weights_sha256"]


def test_logit_scale_and_bias(predictors):
    for name in ("clip", "siglip"):
        p = predictors[name]
        row_norms = p.module.head.weight.norm(dim=1)
        assert torch.allclose(row_norms, torch.full((7,), p.loaded.logit_scale), rtol=1e-4)
        assert torch.allclose(p.module.head.bias, torch.full((7,), p.loaded.logit_bias))


@pytest.mark.parametrize("name", ["clip", "hf_clip", "siglip"])
def test_checkpoint_round_trip_needs_no_source_files(predictors, tmp_path, name):
    p: ClipPredictor = predictors[name]
    path = save_checkpoint(p.module, p.config, tmp_path / f"{name}_zero_shot")
    again = load_predictor(None, path)  # rebuilt from the config's encoder spec
    x = faces(4)
    assert np.allclose(again.predict(x).proba, p.predict(x).proba, atol=1e-5)


def test_weights_file_with_registered_arch(tmp_path, predictors):
    import open_clip

    cfg = json.loads((tiny_dir("open_clip") / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "ferbench-tiny-test.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "ferbench-tiny-test.json")
    weights = tiny_dir("open_clip") / "open_clip_model.safetensors"
    p = load_predictor("clip", weights, arch="ferbench-tiny-test")
    x = faces(3)
    # open_clip's default (OpenAI) normalisation equals the tiny dir's, so both paths agree.
    assert np.allclose(p.predict(x).proba, predictors["clip"].predict(x).proba, atol=1e-5)
    with pytest.raises(ValueError, match="arch"):
        load_predictor("clip", weights)


def test_offline_by_default(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=true"):
        load_predictor("clip", None, arch="ViT-B-32", pretrained="laion2b_s34b_b79k", cache_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="download=true"):
        load_predictor("hf_clip", None, repo="openai/clip-vit-base-patch32", cache_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="hf_clip or siglip"):
        load_predictor("clip", tiny_dir("siglip"))
    with pytest.raises(ValueError, match="not 'clip'"):
        load_predictor("hf_clip", tiny_dir("siglip"))
    with pytest.raises(ValueError, match="Extra inputs"):
        load_predictor("clip", tiny_dir("open_clip"), promts="simple")


def test_siglip_with_a_sentencepiece_tokenizer_loads():
    """Published SigLIP snapshots ship spiece.model: the vlm extra must bring sentencepiece."""
    path = tiny_dir("siglip_spm")
    assert (path / "spiece.model").exists()
    p = load_predictor("siglip", path).predict(faces(2, rgb=True))
    assert p.proba.shape == (2, 7) and np.allclose(p.proba.sum(1), 1, atol=1e-5)
