"""Generative VLMs (tiny random LLaVA and Qwen2-VL from local dirs): score mode in one forward pass, generate mode
parsing. Qwen2-VL differs from LLaVA in every way the batching must handle: a flat patch list with
image_grid_thw, per-token mm_token_type_ids, M-RoPE positions."""

import json
import shutil

import numpy as np
import pytest
import torch
from helpers import faces, tiny_dir

from ferbench.emotions import parse_answer
from ferbench.models import load_predictor
from ferbench.models.vlm.batching import PromptEncoder
from ferbench.models.vlm.images import to_pil

MULTI_TOKEN = ("question: 'Which emotion? {labels}'\nanswers: {angry: angry, disgust: disgust face face, "
               "fear: fear person, happy: happy, sad: sad, surprise: surprise, neutral: neutral face}\n")


@pytest.fixture(scope="module")
def llava():
    return load_predictor("llava", tiny_dir("llava"))


@pytest.fixture(scope="module", params=["llava", "qwen2_vl"])
def vlm(request):
    return load_predictor(request.param, tiny_dir(request.param))


def count_forward(predictor):
    calls = []
    handle = predictor.model.register_forward_pre_hook(lambda *a: calls.append(1))
    return calls, handle


def test_score_mode_one_forward_pass_per_batch(vlm):
    calls, handle = count_forward(vlm)
    try:
        out = vlm.predict(faces(3))
    finally:
        handle.remove()
    assert len(calls) == 1 and out.extra["forward_passes"] == 1
    assert out.proba.shape == (3, 7) and np.allclose(out.proba.sum(1), 1, atol=1e-5)
    assert (out.pred == out.proba.argmax(1)).all()


def _reference_loglik(p, image: np.ndarray, answer_ids: list[int]) -> float:
    """One image, one answer, its own forward pass: what the batched score must equal."""
    enc = dict(p.processor(images=to_pil(image[None]), text=[p.text], return_tensors="pt"))
    start = enc["input_ids"].shape[1]
    answer = torch.tensor([answer_ids])
    enc["input_ids"] = torch.cat([enc["input_ids"], answer], dim=1)
    enc["attention_mask"] = torch.ones_like(enc["input_ids"])
    if "mm_token_type_ids" in enc:  # Qwen2-VL: the answer is text (type 0)
        enc["mm_token_type_ids"] = torch.cat([enc["mm_token_type_ids"], torch.zeros_like(answer)], dim=1)
    with torch.no_grad():
        logits = p.model(**enc).logits
    logp = torch.log_softmax(logits[0].float(), -1)
    return float(sum(logp[start - 1 + j, t] for j, t in enumerate(answer_ids)))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_batched_scores_equal_one_pass_per_answer(vlm, tmp_path, reduce):
    prompt = tmp_path / "multi.yaml"
    prompt.write_text(MULTI_TOKEN)
    p = vlm.with_prompt(str(prompt))
    p.options = p.options.model_copy(update={"score_reduce": reduce})
    assert sorted({len(a) for a in p.answer_ids}) == [1, 2, 3]  # padding is exercised
    images = faces(2, seed=3)
    loglik, _ = p.scores(images)
    for i in range(2):
        for c, ids in enumerate(p.answer_ids):
            ref = _reference_loglik(p, images[i], ids) / (len(ids) if reduce == "mean" else 1)
            assert abs(float(loglik[i, c]) - ref) < 1e-4, (i, c)
    out = p.predict(images)
    assert np.allclose(out.proba, torch.softmax(loglik, 1).numpy(), atol=1e-6)


def test_generate_mode_parses_and_counts_unparsed(vlm):
    images = faces(4, seed=1)
    gen = load_predictor(vlm.name, tiny_dir(vlm.name), mode="generate", max_new_tokens=6)
    loop = load_predictor(vlm.name, tiny_dir(vlm.name), mode="generate", max_new_tokens=6, decode="loop")
    a, b = gen.predict(images), loop.predict(images)
    assert a.raw == b.raw  # the cache-free loop decodes exactly like generate()
    parsed = [parse_answer(t) for t in a.raw]
    assert a.extra["unparsed"] == sum(x is None for x in parsed)
    assert (np.isnan(a.proba).all(1) == (a.pred < 0)).all() and np.isnan(a.proba).all()
    assert b.extra["forward_passes"] <= 6 and b.extra["generated_tokens"] >= 4


def test_prompt_formats(llava):
    nochat = load_predictor("llava", tiny_dir("llava_nochat"))
    assert nochat.text == llava.text  # packaged llava format == the tiny chat template
    custom = load_predictor("llava", tiny_dir("llava_nochat"), chat_format="<image> Q: {question} A:")
    assert custom.text.startswith("<image> Q: What is") and custom.predict(faces(1)).proba.shape == (1, 7)


def test_remote_code_needs_consent(tmp_path):
    src = tiny_dir("llava")
    with pytest.raises(ValueError, match="--trust-remote-code"):
        load_predictor("phi35_vision", src)
    coded = tmp_path / "coded"
    shutil.copytree(src, coded)
    config = json.loads((coded / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    (coded / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="--trust-remote-code"):
        load_predictor("vlm", coded)


def test_model_type_is_checked():
    with pytest.raises(ValueError, match="not qwen2_vl"):
        load_predictor("qwen2_vl", tiny_dir("llava"))
    with pytest.raises(ValueError, match="Input should be 'score' or 'generate'"):
        load_predictor("vlm", tiny_dir("llava"), mode="guess")


def test_describe_and_cost(llava):
    d = llava.describe()
    assert d["family"] == "vlm" and d["weights_sha256"] and d["answers"]["happy"] == "happy"
    cost = llava.cost_info()
    assert cost["params"] > 0 and cost["flops_per_image"] > 0


def test_prompt_encoder_shortcut_equals_full_processing(vlm):
    images = to_pil(faces(3, seed=5))
    encoder = PromptEncoder(vlm.processor, vlm.text)
    fast = encoder(images)
    assert encoder.shortcut is True
    for got, full in zip(fast, [encoder.full(im) for im in images]):
        assert got.keys() == full.keys()
        assert all(torch.equal(got[k], full[k]) for k in full if torch.is_tensor(full[k]))

    class Disagreeing:  # its image processor does not reproduce the processor's pixels: no shortcut
        def __init__(self, processor):
            self.processor = processor

        def __call__(self, **kw):
            return self.processor(**kw)

        def image_processor(self, **kw):
            out = dict(self.processor.image_processor(**kw))
            return {**out, "pixel_values": out["pixel_values"] + 1}

    other = PromptEncoder(Disagreeing(vlm.processor), vlm.text)
    assert len(other(images)) == 3 and other.shortcut is False


@pytest.mark.parametrize("name", ["paligemma", "smolvlm"])
def test_paligemma_and_smolvlm_score_and_generate(name):
    """PaliGemma's processor adds training labels (score mode broke on them); SmolVLM's needs num2words."""
    images = faces(3)
    score = load_predictor(name, tiny_dir(name)).predict(images)
    assert score.proba.shape == (3, 7) and np.allclose(score.proba.sum(1), 1, atol=1e-5)
    gen = load_predictor(name, tiny_dir(name), mode="generate", max_new_tokens=3).predict(images)
    assert gen.extra["forward_passes"] >= 1 and len(gen.pred) == 3


def test_device_and_dtype_default_to_the_gpu_in_bfloat16(monkeypatch):
    from ferbench.models.vlm import generative

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert generative.choose_device_dtype(None, None) == ("cuda", "bfloat16")
    assert generative.choose_device_dtype("cpu", None) == ("cpu", "float32")  # told otherwise
    assert generative.choose_device_dtype(None, "float32") == ("cuda", "float32")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert generative.choose_device_dtype(None, None) == ("cuda", "float16")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert generative.choose_device_dtype(None, None) == ("cpu", "float32")
    # the loader uses the choice, and run.json records it: here a bfloat16 model on the CPU
    monkeypatch.setattr(generative, "choose_device_dtype", lambda device, dtype: ("cpu", "bfloat16"))
    vlm = load_predictor("llava", tiny_dir("llava"))
    assert next(vlm.model.parameters()).dtype == torch.bfloat16 and vlm.describe()["options"]["dtype"] == "bfloat16"
    assert vlm.predict(faces(2)).proba.shape == (2, 7)
