"""``ferbench report`` and the results store, on study-like results built from synthetic data in seconds.

The results folder holds runs of a random tiny CNN and of a "band reader" (a stub that decodes the class
from the synthetic images' bright band, so its accuracy is known: 100% on clean images, falling with noise
as its answers become unscored), degraded by noise at two severities, one restored with a median filter.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import synthetic_faces, write_fer_csv
from helpers import N_TEST, build_results
from typer.testing import CliRunner

from ferbench.emotions import EMOTIONS, INDEX


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("results")
    return root, build_results(root)


@pytest.fixture(scope="module")
def rendered(results) -> tuple[Path, str, str]:
    from ferbench.report import write_report

    root, _ = results
    paths = write_report(root, root / "report", title="Unit <study>")
    return root / "report", paths["html"].read_text(), paths["markdown"].read_text()


class Tables(HTMLParser):
    """Cell texts of every <table id=...>, row by row."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table, self._row, self._cell = None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or f"table{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _row(table: list[list[str]], first: str) -> list[str]:
    return next(r for r in table if r and r[0] == first)


def _ref(html_tables, model_and_setting: str) -> str:
    return next(r[0] for r in html_tables["per-class-table"] if len(r) > 1 and r[1] == model_and_setting)


def test_band_reader_is_exact_on_clean_images(results):
    _, built = results
    assert built["metrics"]["band-clean"]["accuracy"] == 1.0
    noisy = built["metrics"]["band-noise2"]
    assert noisy["n_scored"] < noisy["n"] == N_TEST  # noise makes some answers unscored


def test_main_table_numbers_match_metrics(rendered, results):
    _, html, _ = rendered
    _, built = results
    tables = Tables(html).tables
    main = tables["main-table"]
    body = [r for r in main if r and re.fullmatch(r"R\d+", r[0])]
    assert len(body) == 9  # 8 study cells + the subset run; the crashed one is listed as not included
    assert "runs/crashed</code> (running (no metrics.json))" in html
    assert _row(tables["not-run"], "skipped (2)")[1:] == ["weights w.safetensors not found", "a__phi35, b__phi35"]
    header = main[0]
    assert header == ["run", "model", "degradation", "restorer", "accuracy", "balanced accuracy", "macro-F1",
                      "n", "n_scored"]  # no "data" column: every run is on the same dataset and split
    phases = tables["phase-table"]  # cost has its own table, so that neither scrolls sideways
    assert [h for h in phases[0] if h in ("preprocessing", "restoration", "training", "inference", "evaluation")] \
        == ["restoration", "training", "inference", "evaluation"]
    ref = _ref(tables, "band_reader · noise 2 · median5")
    row = _row(main, ref)
    m = built["metrics"]["band-noise2-median"]
    lo, hi = m["accuracy_ci"]
    assert row[4] == f"{100 * m['accuracy']:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"
    assert row[7:9] == [str(m["n"]), str(m["n_scored"])]
    tiny = _row(tables["phase-table"], _ref(tables, "tiny_cnn · none · identity"))
    assert tiny[-2:] == ["6.23 k", "2.99 M"]  # params, FLOPs per image of the 8-wide tiny_cnn


def test_per_class_and_confusion(rendered, results):
    out, html, markdown = rendered
    tables = Tables(html).tables
    per_class = tables["per-class-table"]
    assert per_class[0][2:9] == list(EMOTIONS)  # FER order, never alphabetical
    clean = _row(per_class, _ref(tables, "band_reader · none · identity"))
    assert clean[2:] == ["100.0"] * 8
    # clean, unrestored runs only (4 models + the subset run): one per model, not one per condition
    assert len(re.findall(r'<img src="data:image/png;base64,[^"]+" alt="confusion matrix', html)) == 5
    assert len(list(out.glob("figures/confusion-R*.png"))) == 5
    assert markdown.count("![confusion matrix") == 5


def test_pareto_robustness_and_samples(rendered):
    out, html, markdown = rendered
    tables = Tables(html).tables
    assert 'alt="accuracy against cost"' in html and (out / "figures" / "pareto.png").stat().st_size > 1000
    # the stubs record no FLOPs, so the FLOPs front is the tiny CNN alone
    tiny = _ref(tables, "tiny_cnn · none · identity")
    assert f"Pareto front by classifier FLOPs per image, none: {tiny}" in html
    # fronts are per test condition: at noise 2 the median filter buys accuracy with restoration time
    restored = _ref(tables, "band_reader · noise 2 · median5")
    front = re.search(r"Pareto front by restoration \+ inference wall seconds per image, noise 2: ([R\d → ]+)<", html)
    assert front.group(1).split(" → ")[-1] == restored and html.count(", noise 2: ") == 1
    cost = tables["cost-table"]
    assert len(cost) == 1 + 9 and _row(cost, tiny)[5:] == ["2.99 M", "yes"]
    assert 'alt="accuracy against degradation severity"' in html
    assert "![accuracy against degradation severity](figures/headline.png)" in markdown
    assert "artifacts/median/noise-2.png" in html
    assert (out / "figures" / "sample-01.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "No restoration sample grids" not in html


def test_significance_matrix_is_mcnemar_on_shared_samples(rendered, results):
    from ferbench.metrics import compare_predictions
    from ferbench.runs.files import arrays_from_records, read_predictions

    _, html, markdown = rendered
    root, _ = results
    tables = Tables(html).tables
    matrices = [t for name, t in tables.items() if name.startswith("table")]
    # one matrix per test condition (none, noise 1, noise 2); the 40-sample subset run pairs with nobody
    assert sorted(len(m[0]) - 1 for m in matrices) == [2, 2, 4]
    matrix = next(m for m in matrices if len(m[0]) == 5)
    refs = matrix[0][1:]
    dirs = {_ref(tables, "tiny_cnn · none · identity"): "tiny-clean",
            _ref(tables, "band_reader · none · identity"): "band-clean"}
    first, second = sorted(dirs, key=refs.index)
    arrays = {ref: arrays_from_records(sorted(read_predictions(root / "runs" / cell / "predictions.jsonl"),
                                              key=lambda r: r["id"]))
              for ref, cell in dirs.items()}
    expected = compare_predictions(arrays[first]["labels"], arrays[first]["preds"], arrays[second]["preds"])
    p = expected["mcnemar_exact_p"]
    i, j = refs.index(first) + 1, refs.index(second) + 1
    assert matrix[i][j] == ("<0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}")
    assert matrix[j][i] == f"{-100 * expected['accuracy_diff']:+.1f}"  # lower triangle: row − column
    assert "Bonferroni threshold 0.0083" in html  # 6 pairs
    assert "### 4 runs on the same 84 samples (6 pairs" in markdown


def test_leakage_section(rendered, results):
    _, html, markdown = rendered
    _, built = results
    tables = Tables(html).tables
    leak = tables["leakage-table"]
    row = _row(leak, _ref(tables, "tiny_cnn · none · identity"))
    dedup = built["metrics"]["tiny-clean"]["deduplicated"]
    assert dedup["excluded"] == 6
    assert row[4:7] == [f"{100 * dedup['accuracy']:.1f} ({100 * dedup['accuracy_ci'][0]:.1f}–"
                        f"{100 * dedup['accuracy_ci'][1]:.1f})", str(N_TEST - 6), "6"]
    audit = tables["audit-1"]
    exact = built["audit"]["exact"]
    assert _row(audit, "duplicate groups")[1] == str(exact["groups"])
    assert _row(audit, "PublicTest rows with a Training twin")[1] == "6"
    assert "leaked PublicTest rows (exact or near twin in an earlier split): 6 (7.1% of 84)" in html


def test_claims_are_labelled_and_matched(rendered):
    _, html, markdown = rendered
    tables = Tables(html).tables
    claims = tables["claims-table"]
    assert claims[0][1] == "claimed accuracy (paper)"
    by_model = {r[0]: r for r in claims[1:]}
    assert by_model["EfficientNet-B0"][1] == "86.44 claim"
    assert by_model["EfficientNet-B0"][2].startswith("not measured here: the paper trains it")
    # a random CLIP is not the paper's CLIP ViT-B/32: no like-for-like row, and the reason
    assert by_model["CLIP"][1] == "64.07 claim" and "hub, unreachable offline" in by_model["CLIP"][2]
    assert by_model["Phi-3.5-Vision"][1] == "51.66 claim"
    assert by_model["ResNet-50"][1:4] == ["85.72 claim", _ref(tables, "resnet_gfpgan · none · identity"),
                                        "resnet_gfpgan · none · identity"]
    assert "arXiv:2508.13524" in html and "73–76%" in html and "claims, not measurements" in markdown


def test_text_is_escaped_and_page_is_offline(rendered):
    _, html, markdown = rendered
    assert "<title>Unit &lt;study&gt;</title>" in html
    assert "evil &lt;b&gt;|name" in html and "<b>|name" not in html
    assert "evil &lt;b&gt;\\|name" in markdown  # a pipe would break the Markdown table
    assert "# Unit &lt;study&gt;" in markdown
    assert not re.search(r"<(script|link|iframe)\b", html)
    assert not re.search(r"""(src|href)=["'](https?:|//)""", html)
    assert re.search(r"default-src 'none'; img-src data:", html)


def test_store_has_one_row_per_finished_run(results, tmp_path):
    import pandas as pd

    from ferbench.report import build_store

    root, built = results
    path = build_store(root, tmp_path / "store.parquet")
    df = pd.read_parquet(path)
    assert len(df) == 9 and df["run_id"].is_unique
    row = df.set_index("run_id").loc["band-noise2-median"]
    m = built["metrics"]["band-noise2-median"]
    assert (row["degradation"], row["severity"], row["restorer"], row["restorer_method"]) == ("noise", 2.0, "median5",
                                                                                           "median")
    assert row["accuracy"] == pytest.approx(m["accuracy"]) and row["accuracy_ci_low"] == pytest.approx(m["accuracy_ci"][0])
    assert row["n_scored"] == m["n_scored"] and row["restoration_items"] == N_TEST
    assert json.loads(row["restorer_params"]) == {"ksize": 5}
    assert {f"f1_{e}" for e in EMOTIONS} <= set(df.columns) and INDEX["angry"] == 0
    plain = df.set_index("run_id").loc["runs/subset"]
    assert (plain["degradation"], plain["restorer"], plain["n"]) == ("none", "identity", 40)


def test_cli_on_plain_eval_runs(tmp_path):
    """``ferbench eval`` runs (no study fields) render, and empty sections say so in one line."""
    import torch

    from ferbench.cli.main import app
    from ferbench.models import create_model
    from ferbench.models.checkpoint import save_checkpoint
    from ferbench.models.config import ModelConfig

    images, labels = synthetic_faces(56)
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, ["Training"] * 28 + ["PublicTest"] * 28)
    torch.manual_seed(0)
    ckpt = save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "tiny")
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "-d", str(csv), "-m", "tiny_cnn", "-w", str(ckpt), "-o",
                                 str(tmp_path / "res" / "one"), "-q", "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(tmp_path / "res"), "--write-store"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "res" / "report" / "report.html").read_text()
    for line in ("No run evaluated degraded images", "No restoration sample grids",
                 "No two runs were evaluated on the same samples", "No run has metrics on a de-duplicated split",
                 "No audit.json in this folder"):
        assert line in html
    assert "<td class=\"txt\">none</td><td class=\"txt\">identity</td>" in html
    assert (tmp_path / "res" / "store.parquet").exists()
    result = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_findings_quote_the_tables(rendered, results):
    """Every accuracy a finding quotes is the table's, and differences agree with the table's accuracies."""
    from ferbench.report.context import build_context

    _, html, markdown = rendered
    root, _ = results
    tables = Tables(html).tables
    main = {r[0]: r for r in tables["main-table"][1:]}
    dedup = {r[0]: r for r in tables["leakage-table"][1:]}
    context = build_context(root)
    findings = context["findings"]
    topics = [f.topic for f in findings]
    assert topics[:2] == ["Faces", "Best model"] and {"noise", "Restoration", "Leakage"} <= set(topics)
    assert '<section id="findings">' in html and html.index('id="findings"') < html.index('id="main"')
    quoted = 0
    for f in findings:
        assert f.text in html.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
        for q in f.quotes:
            row = main[q["ref"]] if q["key"] == "accuracy" else dedup[q["ref"]]
            assert q["text"] == (row[4] if q["key"] == "accuracy" else row[4])
            value, interval = q["text"].split(" ", 1)
            assert f"{value}% (95% CI {interval[1:-1]})" in f.text or f"{value}%" in f.text
            quoted += 1
    assert quoted >= 6
    best = next(f for f in findings if f.topic == "Best model")
    assert best.text.startswith("On clean faces the most accurate model is band_reader at 100.0%")

    def acc(ref):
        return float(main[ref][4].split()[0])

    for x in context["loss_rows"]:
        assert abs(100 * x["loss"] - (acc(x["clean_ref"]) - acc(x["ref"]))) <= 0.11
    for x in context["restorer_rows"]:
        assert abs(100 * x["gain"] - (acc(x["ref"]) - acc(x["base_ref"]))) <= 0.11
    assert len(context["restorer_rows"]) == 2 and tables["loss-table"] and tables["restorer-table"]


def _run_row(model, degradation, severity, restorer, accuracy):
    return {"model": model, "degradation": degradation, "severity": severity, "restorer": restorer,
            "accuracy": accuracy, "accuracy_ci_low": accuracy - 0.05, "accuracy_ci_high": accuracy + 0.05}


def test_best_restorer_is_the_most_accurate_real_restorer():
    from ferbench.report.context import best_restorer

    rows = [_run_row("a", "noise", 2.0, "identity", 0.9),  # no restoration: never the "best restorer"
            _run_row("a", "noise", 2.0, "median5", 0.4), _run_row("a", "noise", 2.0, "gfpgan", 0.7),
            {**_run_row("a", "noise", 2.0, "codeformer", 0.0), "accuracy": None},
            _run_row("b", "noise", 2.0, "median5", 0.6), _run_row("b", "noise", 2.0, "gfpgan", 0.5),
            _run_row("b", "blur", 1.0, "identity", 0.8)]
    best = best_restorer(rows)
    assert {key: r["restorer"] for key, r in best.items()} == {("a", "noise", 2.0): "gfpgan",
                                                               ("b", "noise", 2.0): "median5"}


def test_restoration_figure_only_when_a_restorer_ran(rendered, results, monkeypatch, tmp_path):
    import shutil

    from ferbench.report import context, write_report

    rows = [_run_row("a", "none", None, "identity", 0.9), _run_row("b", "none", None, "identity", 0.8),
            _run_row("a", "noise", 1.0, "identity", 0.6), _run_row("b", "noise", 1.0, "identity", 0.7),
            _run_row("a", "noise", 2.0, "identity", 0.4), _run_row("b", "noise", 2.0, "identity", 0.5),
            _run_row("a", "noise", 2.0, "median5", 0.55)]
    drawn = []
    monkeypatch.setattr(context.figures, "restoration_png",
                        lambda groups, draw=context.figures.restoration_png: drawn.append(groups) or draw(groups))
    fig = context._restoration(rows)
    assert fig.data[:8] == b"\x89PNG\r\n\x1a\n" and "with its best restorer (hatched)" in fig.caption
    # clean faces are no condition; noise 1 had no restorer but keeps its unrestored bars
    [groups] = drawn
    assert [(g["label"], [(b["model"], b["restorer"], b["acc"]) for b in g["bars"]]) for g in groups] == [
        ("noise 1", [("a", None, 0.6), ("b", None, 0.7)]),
        ("noise 2", [("a", None, 0.4), ("a", "median5", 0.55), ("b", None, 0.5)])]
    assert context._restoration([r for r in rows if r["restorer"] == "identity"]) is None

    out, html, markdown = rendered  # the unit study restores noise with a median filter
    assert 'alt="robust model against restoration"' in html and fig.caption in html
    assert "![robust model against restoration](figures/restoration.png)" in markdown and fig.caption in markdown
    assert (out / "figures" / "restoration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    root, _ = results  # the same study without its restored runs: no figure, the headline stays
    shutil.copytree(root, tmp_path / "plain", ignore=shutil.ignore_patterns("*-median", "report"))
    paths = write_report(tmp_path / "plain", n_boot=20)
    html, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    assert 'alt="accuracy against degradation severity"' in html
    assert "robust model against restoration" not in html + markdown and fig.caption not in html + markdown
    assert not (tmp_path / "plain" / "report" / "figures" / "restoration.png").exists()
