"""CNN+VLM late fusion: the fusion rules, weight fitting on PublicTest runs, the hybrid predictor."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.data.dataset import Dataset
from ferbench.models import Prediction, Predictor, load_predictor
from ferbench.models.registry import MODELS
from ferbench.models.vlm.hybrid import fit_weight, fuse
from ferbench.registry import Entry
from ferbench.runs.evaluate import evaluate

runner = CliRunner()


def noisy_proba(labels: np.ndarray, strength: float, seed: int) -> np.ndarray:
    """Probabilities that favour the true class by ``strength`` over Gaussian noise."""
    z = np.random.default_rng(seed).normal(size=(len(labels), 7))
    z[np.arange(len(labels)), labels] += strength
    return np.exp(z) / np.exp(z).sum(1, keepdims=True)


def test_fusion_rules_and_missing_rows():
    pa, pb = noisy_proba(np.arange(10) % 7, 1, 0), noisy_proba(np.arange(10) % 7, 1, 1)
    assert np.allclose(fuse(pa, pb, 1.0), pa) and np.allclose(fuse(pa, pb, 0.0), pb)
    assert np.allclose(fuse(pa, pb, 0.3, "prob"), 0.3 * pa + 0.7 * pb)
    mid = fuse(pa, pb, 0.5)
    assert np.allclose(mid.sum(1), 1) and np.allclose(mid, np.sqrt(pa * pb) / np.sqrt(pa * pb).sum(1, keepdims=True))
    pb[2] = np.nan  # an unparsed VLM answer: that row is model A's alone
    pa[5] = np.nan
    fused = fuse(pa, pb, 0.5)
    assert np.allclose(fused[2], pa[2]) and np.allclose(fused[5], pb[5])


def test_weight_fitting_prefers_the_informative_model():
    y = np.arange(700) % 7
    good, noise = noisy_proba(y, 3, 0), noisy_proba(y, 0, 1)
    w, _ = fit_weight(good, noise, y)
    assert w >= 0.9
    w, _ = fit_weight(noise, good, y)
    assert w <= 0.1
    a, b = noisy_proba(y, 1.5, 2), noisy_proba(y, 1.5, 3)  # equally good, independent errors
    w, table = fit_weight(a, b, y)
    assert 0.3 <= w <= 0.7
    nll = {r["weight"]: r["nll"] for r in table}
    assert nll[w] < nll[0.0] and nll[w] < nll[1.0]


class Fixed(Predictor):
    """A model that returns stored probabilities for images identified by their first pixel."""

    def __init__(self, proba: np.ndarray, name: str):
        self.table, self.name = proba, name

    def predict(self, images):
        return Prediction.from_proba(self.table[images[:, 0, 0].astype(int)])


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    n = 70
    images = np.zeros((n, 48, 48), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n)
    labels = np.arange(n) % 7
    ds = Dataset(images=images, labels=labels, splits=np.array(["PublicTest"] * n),
                 ids=np.array([str(i) for i in range(n)]), source="synthetic", source_hash="0" * 64)
    tables = {"fixed_a": noisy_proba(labels, 2, 0), "fixed_b": noisy_proba(labels, 2, 1)}
    for name, table in tables.items():  # registered for this test only (monkeypatch restores the registry)
        monkeypatch.setitem(MODELS._entries, name, Entry(name, None, {"family": "test", "predictor": (
            lambda n, w, t=table, **o: Fixed(t, n))}))
    runs = []
    for name in tables:
        evaluate(Fixed(tables[name], name), ds, tmp_path / name, {"model": name, "weights": None, "options": {},
                                                                  "split": ["PublicTest"]}, n_boot=10, progress=False)
        runs.append(tmp_path / name)
    return ds, tables, runs


def test_fuse_cli_and_hybrid_predictor(two_runs, tmp_path):
    ds, tables, (run_a, run_b) = two_runs
    result = runner.invoke(app, ["vlm", "fuse", str(run_a), str(run_b), "-o", str(tmp_path / "fusion.json")])
    assert result.exit_code == 0, result.output
    spec = json.loads((tmp_path / "fusion.json").read_text())
    assert 0 < spec["weight"] < 1 and spec["members"][0]["model"] == "fixed_a" and spec["fitted_on"]["n"] == 70
    hybrid = load_predictor("hybrid", tmp_path / "fusion.json")
    out = hybrid.predict(ds.images)
    assert np.allclose(out.proba, fuse(tables["fixed_a"], tables["fixed_b"], spec["weight"]), atol=1e-6)
    assert hybrid.describe()["family"] == "hybrid"


def test_fusion_is_never_fitted_on_private_test(two_runs):
    _, _, (run_a, run_b) = two_runs
    run = json.loads((run_a / "run.json").read_text())
    run["config"]["split"] = ["PrivateTest"]
    (run_a / "run.json").write_text(json.dumps(run))
    result = runner.invoke(app, ["vlm", "fuse", str(run_a), str(run_b)])
    assert result.exit_code == 2 and "PublicTest only" in result.output
