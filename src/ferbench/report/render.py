"""Render the report: ``report.html`` (self-contained: inline CSS, images as data URIs, no script, no
external fetch) and ``report.md`` with its PNG figures in ``figures/`` beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..utils.io import write_bytes, write_text
from .context import build_context
from .fmt import FILTERS, md_escape


def _environment(markdown: bool) -> Environment:
    # HTML: autoescape everything. Markdown: every printed value goes through md_escape (finalize).
    env = Environment(loader=PackageLoader("ferbench.report", "templates"), autoescape=not markdown,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=md_escape if markdown else None)
    env.filters.update(FILTERS)
    return env


def render(context: dict[str, Any]) -> tuple[str, str]:
    """(html, markdown) of a report context."""
    return (_environment(False).get_template("report.html").render(**context),
            _environment(True).get_template("report.md").render(**context))


def write_report(results: str | Path, out: str | Path | None = None, title: str | None = None,
                 max_samples: int = 24, n_boot: int = 200,
                 step: Callable[[str], None] = lambda _: None) -> dict[str, Path]:
    """Build and write the report of ``results`` into ``out`` (default ``RESULTS/report``)."""
    out = Path(out) if out else Path(results) / "report"
    context = build_context(results, title=title, max_samples=max_samples, n_boot=n_boot, step=step)
    step("rendering")
    html, markdown = render(context)
    figs = all_figures(context)
    for fig in figs:
        write_bytes(out / fig.file, fig.data)
    written = {out / fig.file for fig in figs}
    for stale in (out / "figures").glob("*.png"):  # figures of an earlier report of other runs
        if stale not in written:
            stale.unlink()
    write_text(out / "report.html", html)
    write_text(out / "report.md", markdown.rstrip() + "\n")
    return {"html": out / "report.html", "markdown": out / "report.md", "figures": out / "figures"}


def all_figures(context: dict[str, Any]) -> list:
    single = [context["headline"], context["restoration"], context["pareto"]]
    return [*context["confusions"], *(f for f in single if f is not None), *context["samples"]["figures"]]
