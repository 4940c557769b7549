"""The EfficientNet-Lite0 recipes and the default model's FERNet recipe train: two optimiser steps on a few hundred
synthetic faces, with every part the recipe names (ImageNet-format weights, FER+ votes, a teacher file, degradations);
the FERNet recipes stay consistent with each other."""

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, synthetic_faces, write_fer_csv
from helpers import _as_efficientnet_pytorch

from ferbench.data import load_dataset
from ferbench.train import TrainConfig
from ferbench.train.fit import train
from ferbench.train.targets import write_teacher_probs

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import timm

    tmp = tmp_path_factory.mktemp("recipe")
    images, labels = synthetic_faces(240, size=48, seed=5)
    csv = write_fer_csv(tmp / "d.csv", images, labels, ["Training"] * 200 + ["PublicTest"] * 40)
    weights = tmp / "efficientnet-lite0-synthetic.pth"
    torch.save(_as_efficientnet_pytorch(timm.create_model("tf_efficientnet_lite0")), weights)
    teacher = write_teacher_probs(lambda im: np.full((len(im), 7), 1 / 7, np.float32), load_dataset(csv), "Training",
                                  tmp / "teacher.safetensors")
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    votes = tmp / "fer2013new.csv"
    votes.write_text("\n".join([header] + ["Training,x.png,3,7,0,0,0,0,0,0,0,0"] * 260) + "\n")
    return {"data": str(csv), "pretrained": str(weights), "teacher": str(teacher), "votes": str(votes)}


def _recipe(name: str) -> dict:
    return yaml.safe_load((ROOT / "recipes" / name).read_text())


def test_robust_recipe_is_the_clean_one_plus_degradations():
    clean, robust = _recipe("effnet_lite0.yaml"), _recipe("effnet_lite0_robust.yaml")
    TrainConfig.model_validate({**clean, "data": "x.csv"})
    assert set(robust) - set(clean) == {"degrade"}
    differ = {k for k in clean if clean[k] != robust[k]}
    assert differ <= {"epochs", "max_minutes"}, differ


def test_robust_recipe_trains_two_steps(inputs, tmp_path):
    spec = _recipe("effnet_lite0_robust.yaml")
    assert spec["model"] == "efficientnet_lite0" and spec["pretrained"] == "auto"
    spec.update(data=inputs["data"], pretrained=inputs["pretrained"], input_size=32, batch_size=100, epochs=1,
                max_minutes=None, threads=1)
    spec["targets"].update(teacher=inputs["teacher"], ferplus_votes=inputs["votes"])
    run = train(TrainConfig.model_validate(spec), tmp_path / "run", progress=False)
    assert run["status"] == "finished" and run["best"]["step"] == 2  # 200 faces / batch 100
    assert {"pretrained_sha256", "teacher_sha256", "ferplus_votes_sha256"} == set(run["input_files"])
    assert run["training_inputs"]["degrade"]["held_out_kinds"] == ["gaussian_blur", "low_brightness", "occlusion"]


def test_default_models_recipe_trains_two_steps(inputs, tmp_path):
    """fernet_kd2's recipe as written (bf16 autocast, channels_last, EMA, the teacher, starting from the packaged
    fernet_kd as its run started from fernet_kd's run) trains two optimiser steps; only the data, the files, the
    length and the input size (32 px: bf16 is emulated, and slow, on CPUs without AVX-512 BF16) are swapped."""
    spec = _recipe("fernet_kd2.yaml")
    spec.update(data=inputs["data"], pretrained=str(ROOT / "src/ferbench/models/weights/fernet_kd.safetensors"),
                input_size=32, batch_size=100, epochs=1, max_minutes=None, threads=1)
    spec["targets"].update(teacher=inputs["teacher"])
    run = train(TrainConfig.model_validate(spec), tmp_path / "run", progress=False)
    assert run["status"] == "finished" and run["best"]["step"] == 2  # 200 faces / batch 100
    assert set(run["input_files"]) == {"teacher_sha256", "pretrained_sha256"}


def test_robust_study_compares_both_recipes_on_every_degradation():
    from ferbench.degrade import list_degradations
    from ferbench.study.spec import StudySpec

    spec = StudySpec.load(ROOT / "recipes" / "robust_study.yaml")
    assert {d.name for d in spec.degradations} == {"none", *list_degradations()}
    # the clean model, its clean control (more training, no degradations), the robust one and its clean twin; the
    # default, its fine-tuned robust version, and the default with the two Xceptions
    assert [m.name for m in spec.models] == ["fernet", "fernet_restart", "fernet_robust", "fernet_kd", "fernet_kd2",
                                             "fernet_robust2", "fernet_trio"]
    assert all(m.weights is None or not m.weights.startswith("runs/") for m in spec.models)
    assert all(d.severities == [3] for d in spec.degradations if d.name != "none")


def test_fernet_robust_stages_each_continue_the_last_with_one_stated_change():
    """Stage 2 lowers the learning rate; stage 3 turns on FERNet's standardize; stage 4 (measured, not packaged)
    lowers the rate again. Nothing else differs, so each stage's effect is its own."""
    stages = [_recipe(f) for f in ("fernet_robust.yaml", "fernet_robust_stage2.yaml", "fernet_robust_stage3.yaml",
                                   "fernet_robust_stage4.yaml")]
    changes = [{k for k in a if a[k] != b[k]} for a, b in zip(stages, stages[1:])]
    assert changes == [{"pretrained", "lr", "warmup_epochs"}, {"pretrained", "arch_kwargs"},
                       {"pretrained", "lr", "max_minutes"}]
    outs = ["runs/fernet_robust", "runs/fernet_robust_stage2", "runs/fernet_robust_stage3"]
    assert [s["pretrained"] for s in stages[1:]] == [f"{o}/model.safetensors" for o in outs]
    assert stages[2]["arch_kwargs"] == {**stages[1]["arch_kwargs"], "standardize": True}
    assert stages[1]["lr"] < stages[0]["lr"] and stages[3]["lr"] < stages[2]["lr"]


def test_packaged_fernet_robust_is_the_one_run_v2_recipe():
    """v2 trains from scratch with FERNet's own schedule and the stages' degradations, teacher and standardize;
    the packaged fernet_robust is that run, so the recipe a user runs is the one that made the weights."""
    from ferbench.models import load_predictor

    v2, stage3, clean = (_recipe(f) for f in ("fernet_robust_v2.yaml", "fernet_robust_stage3.yaml", "fernet.yaml"))
    assert "pretrained" not in v2 and v2["arch_kwargs"] == stage3["arch_kwargs"]
    assert {k: v2[k] for k in ("degrade", "targets")} == {k: stage3[k] for k in ("degrade", "targets")}
    assert {k: v2[k] for k in ("epochs", "lr", "optimizer", "scheduler")} == {
        k: clean[k] for k in ("epochs", "lr", "optimizer", "scheduler")}
    recipe = load_predictor("fernet_robust").config.provenance["recipe"]
    assert recipe["pretrained"] is None and recipe["arch_kwargs"] == v2["arch_kwargs"]
    assert {k: recipe[k] for k in v2 if k not in ("targets", "degrade", "augment")} == {
        k: v for k, v in v2.items() if k not in ("targets", "degrade", "augment")}


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_recipe_file_validates(path):
    """Each documented recipe is a study or a training config that still parses (the CLI's --model fills a
    recipe without one, as cpu_budget.yaml expects)."""
    from ferbench.study.spec import StudySpec

    doc = _recipe(path.name)
    if "datasets" in doc:
        assert StudySpec.load(path).models
    else:
        TrainConfig.model_validate({"model": "resnet50", **doc, "data": "x.csv"})


def test_fernet_kd_is_v2_without_degradations_and_is_the_packaged_run():
    """fernet_kd differs from fernet_robust's recipe by the degradations alone, so the two measure their cost."""
    from ferbench.models import load_predictor

    v2, kd = _recipe("fernet_robust_v2.yaml"), _recipe("fernet_kd.yaml")
    assert "degrade" in v2 and "degrade" not in kd
    assert {k: v for k, v in v2.items() if k != "degrade"} == kd
    recipe = load_predictor("fernet_kd").config.provenance["recipe"]
    assert recipe["degrade"]["p"] == 0 and recipe["arch_kwargs"] == kd["arch_kwargs"]
    assert {k: recipe[k] for k in kd if k not in ("targets", "augment")} == {
        k: v for k, v in kd.items() if k not in ("targets", "augment")}


def test_fernet_wide_is_fernet_kd_on_a_wider_network():
    """fernet_wide measures capacity alone: fernet_kd's recipe with wider stages and a shorter schedule."""
    kd, wide = _recipe("fernet_kd.yaml"), _recipe("fernet_wide.yaml")
    assert set(wide) == set(kd) and {k for k in kd if kd[k] != wide[k]} == {"arch_kwargs", "epochs", "max_minutes"}
    assert {**wide["arch_kwargs"], "widths": kd["arch_kwargs"]["widths"]} == kd["arch_kwargs"]
    assert wide["arch_kwargs"]["widths"] == [64, 128, 256] and wide["epochs"] == 25


def test_fernet_ferplus_is_fernet_kd2_with_ferplus_votes():
    """fernet_ferplus measures the FER+ votes alone: fernet_kd2's second cycle with the votes mixed into the labels."""
    kd2, fp = _recipe("fernet_kd2.yaml"), _recipe("fernet_ferplus.yaml")
    assert set(fp) == set(kd2) and {k for k in kd2 if kd2[k] != fp[k]} == {"targets"}
    assert {k: v for k, v in fp["targets"].items() if not k.startswith("ferplus")} == kd2["targets"]
    assert fp["targets"]["ferplus_weight"] == 0.5 and fp["targets"]["ferplus_votes"].endswith("fer2013new.csv")


def test_fernet_kd2_is_fernet_kd_trained_again_and_is_the_packaged_run():
    """fernet_kd2 changes only the starting weights (fernet_kd's packaged run) and the schedule of fernet_kd."""
    from ferbench.models import load_predictor

    kd, kd2 = _recipe("fernet_kd.yaml"), _recipe("fernet_kd2.yaml")
    schedule = {"pretrained", "epochs", "lr", "warmup_epochs", "max_minutes"}
    assert set(kd2) - set(kd) == {"pretrained"}
    assert {k: v for k, v in kd2.items() if k not in schedule} == {k: v for k, v in kd.items() if k not in schedule}
    assert kd2["lr"] < kd["lr"] and kd2["epochs"] < kd["epochs"]
    recipe = load_predictor("fernet_kd2").config.provenance["recipe"]
    assert recipe["pretrained"] == kd2["pretrained"] == load_predictor("fernet_kd").config.provenance[
        "packaged_from"]["path"]
    assert {k: recipe[k] for k in schedule} == {k: kd2[k] for k in schedule}


def test_fernet_robust2_is_fernet_kd2_with_the_robust_degradations_and_is_the_packaged_run():
    """fernet_robust2 is fernet_kd2's recipe from fernet_kd2's run, plus fernet_robust's degradations (the same kinds
    held out), keeping the last epoch: nothing else differs, so the degradations' effect is their own."""
    from ferbench.models import load_predictor

    kd2, v2, r2 = _recipe("fernet_kd2.yaml"), _recipe("fernet_robust_v2.yaml"), _recipe("fernet_robust2.yaml")
    assert set(r2) - set(kd2) == {"degrade", "keep"} and r2["degrade"] == v2["degrade"] and r2["keep"] == "last"
    same = {k for k in kd2 if k not in ("pretrained", "max_minutes")}
    assert {k: r2[k] for k in same} == {k: kd2[k] for k in same}
    recipe = load_predictor("fernet_robust2").config.provenance["recipe"]
    assert recipe["pretrained"] == r2["pretrained"] == load_predictor("fernet_kd2").config.provenance[
        "packaged_from"]["path"]
    assert recipe["keep"] == "last" and recipe["degrade"] == r2["degrade"]
    assert {k: recipe[k] for k in same if k not in ("targets", "augment")} == {
        k: r2[k] for k in same if k not in ("targets", "augment")}
