"""``ferbench serve``: the REST API and web page for a model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import BackendOpt, console, fail


def serve_command(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (default: the packaged "
                                        "fernet_kd2; fernet_robust2 for noisy, compressed, low-resolution or "
                                        "blurred faces)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "--checkpoint", "-w", help="Weights for --model."),
    backend: str = BackendOpt,
    host: str = typer.Option("127.0.0.1", help="Address to bind. Only this machine can connect unless you "
                             "give another (e.g. 0.0.0.0): the server has no authentication."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    max_upload_mb: float = typer.Option(20.0, min=0.001, help="Largest request body, in MB (base64 JSON "
                                        "carries 3/4 of it as image)."),
    max_pixels: Optional[int] = typer.Option(None, min=1, help="Largest image, in pixels (default: 40 million, "
                                             "as ferbench predict); bigger ones get 413."),
    max_batch: int = typer.Option(32, min=1, help="Most faces in one forward pass."),
    max_wait_ms: float = typer.Option(10.0, min=0.0, help="How long the first waiting request waits for others "
                                      "to share its forward pass."),
    queue: int = typer.Option(256, min=1, help="Most requests waiting for the model; more get 503."),
    read_timeout: float = typer.Option(30.0, min=0.1, help="Seconds a client has to send its request body "
                                       "(slower ones get 408)."),
    detector: str = typer.Option("auto", help="Face detector, as ferbench predict: mtcnn (faces aligned on "
                                 "landmarks), haar, or auto (mtcnn when facenet-pytorch is installed, else haar)."),
    log_level: str = typer.Option("info", help="uvicorn's log level: critical, error, warning, info, debug."),
) -> None:
    """Serve POST /predict (same JSON as `ferbench predict --json`), GET /models, GET /healthz, a web page
    at / (photo upload or webcam) and the OpenAPI docs at /docs."""
    from ..serve import ServeConfig, load_service
    from ..serve.server import is_loopback, run_server

    if log_level not in ("critical", "error", "warning", "info", "debug"):
        fail(f"--log-level {log_level!r}: expected critical, error, warning, info or debug", code=2)
    config = ServeConfig(max_upload_bytes=int(max_upload_mb * 1024 * 1024), max_batch=max_batch,
                         max_wait_s=max_wait_ms / 1000, max_queue=queue, read_timeout_s=read_timeout,
                         detector=detector)
    if max_pixels is not None:
        config.max_pixels = max_pixels
    try:
        service = load_service(model, str(weights) if weights else None, config, backend=backend)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        fail(str(exc), code=2)
    if service.detector_notice:
        console.print(f"[yellow]{service.detector_notice}[/]")
    if not is_loopback(host):
        console.print(f"[yellow]warning:[/] binding {host}: other machines can reach this server, which has no "
                      "authentication")
    console.print(f"ferbench serve: {service.model.name} on http://{host}:{port}/ (API docs at /docs)")
    run_server(service, host=host, port=port, log_level=log_level)
