"""The ``ferbench`` command line. Sub-commands import their heavy dependencies (torch...) lazily."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from . import data, evaluate, export, models, predict, report, run, serve, teacher, train
from . import restore as restore_cli
from . import vlm as vlm_cli

_plain_format = warnings.formatwarning
_PACKAGE = str(Path(__file__).resolve().parents[1])


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """ferbench's own warnings read as messages to users, not as source lines; other packages' keep theirs."""
    if str(Path(filename).resolve()).startswith(_PACKAGE):
        return f"warning: {message}\n"
    return _plain_format(message, category, filename, lineno, line)


warnings.formatwarning = _format_warning

app = typer.Typer(
    name="ferbench",
    help="Benchmark facial-expression recognition on low-quality faces: data audit, restoration, CNNs and "
         "VLMs, metrics with confidence intervals, per-phase cost, reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("train", context_settings=train.CONTEXT, epilog=train.EPILOG)(train.train_command)
app.command("eval")(evaluate.eval_command)
app.command("teacher-targets")(teacher.teacher_command)
app.command("compare")(evaluate.compare_command)
app.command("run")(run.run_command)
app.command("predict")(predict.predict_command)
app.command("export")(export.export_command)
app.command("report")(report.report_command)
app.command("serve")(serve.serve_command)
restore_cli.register(app)
app.add_typer(vlm_cli.app, name="vlm")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ferbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")) -> None:
    """ferbench: facial-expression recognition benchmarks."""
