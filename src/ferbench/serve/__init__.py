"""``ferbench serve``: a REST API and a web page for a ferbench model.

``load_service`` loads a model once behind a batching queue; ``create_app`` wraps it in a FastAPI app
(``POST /predict``, ``GET /models``, ``GET /healthz``, the page at ``/``); ``run_server`` runs it with uvicorn.
"""

from .service import InputError, PredictService, ServeConfig, load_service

__all__ = ["InputError", "PredictService", "ServeConfig", "create_app", "load_service", "run_server"]


def __getattr__(name: str):  # the web stack is imported only when used
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "run_server":
        from .server import run_server

        return run_server
    raise AttributeError(name)
