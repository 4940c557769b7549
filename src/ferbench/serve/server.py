"""Run the application with uvicorn."""

from __future__ import annotations

import ipaddress

from .service import PredictService

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

def run_server(service: PredictService, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
               max_connections: int = 256) -> None:
    """Serve until interrupted. ``max_connections`` caps open connections (more get 503 from uvicorn)."""
    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(service), host=host, port=port, log_level=log_level, server_header=False,
                limit_concurrency=max_connections, timeout_keep_alive=5, timeout_graceful_shutdown=5)
