"""``ferbench models ...``: list registered models (more sub-commands land with their families)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from .common import emit_json, out

app = typer.Typer(help="List, import and inspect models.", no_args_is_help=True)


@app.command("list")
def list_command(family: Optional[str] = typer.Option(None, help="Only this family (cnn, keras, clip, vlm...)."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Registered models with their family and a one-line description."""
    from ..models.registry import MODELS

    entries = MODELS.entries(**({"family": family} if family else {}))
    if as_json:
        emit_json([{"name": e.name, "family": e.meta.get("family"), "description": e.description} for e in entries])
        return
    table = Table(title="ferbench models")
    for col in ("name", "family", "description"):
        table.add_column(col)
    for e in entries:
        table.add_row(e.name, str(e.meta.get("family")), e.description)
    out.print(table)
