"""The FastAPI application: ``POST /predict``, ``GET /models``, ``GET /healthz``, the page at ``/``.

Every error a client can cause is answered as ``{"error": "..."}`` with a 4xx status. Decoding, detection and
the model run in worker threads, so the event loop keeps serving other clients while one uploads slowly.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from .. import __version__
from .limits import BodyLimit
from .schemas import ErrorResponse, Health, ModelsResponse, PredictJSON, PredictResponse
from .service import DETECT_MODES, InputError, PredictService

STATIC = Path(__file__).parent / "static"
ACCEPTED = "multipart/form-data (field 'file'), application/json ({\"image\": base64}) or an image/* body"
# Keys a client might use to name a file or URL on the server: refused with a clear reason, never followed.
PATH_KEYS = {"path", "file", "filepath", "filename_on_server", "url", "uri"}

_ERRORS = {code: {"model": ErrorResponse} for code in (400, 408, 413, 415, 503)}
_PREDICT_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "detect": {"type": "string", "enum": list(DETECT_MODES), "default": "auto"}}}},
    "application/json": {"schema": PredictJSON.model_json_schema()},
    "image/*": {"schema": {"type": "string", "format": "binary"}},
}}}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_upload(request: Request) -> tuple[bytes, str | None, str | None]:
    """(image bytes, detect or None, client file name or None) from any accepted kind of body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError(400, "multipart upload without a file field named 'file'")
        detect = form.get("detect")
        return await upload.read(), detect if isinstance(detect, str) and detect else None, upload.filename
    if ctype == "application/json":
        try:
            payload = json.loads(await request.body())
        except ValueError as exc:
            raise InputError(400, f"body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise InputError(400, 'JSON body must be an object: {"image": "<base64>", "detect": "auto"}')
        named = sorted(PATH_KEYS & set(payload))
        if named:
            raise InputError(400, f"field {named[0]!r} is not accepted: the server never opens files or URLs "
                                  "named by clients; send the image itself, base64-encoded, in 'image'")
        try:
            body = PredictJSON.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise InputError(400, f"JSON body: {problems}") from None
        encoded = body.image.split(",", 1)[1] if body.image.startswith("data:") else body.image
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(400, f"'image' is not valid base64: {exc}") from None
        return data, body.detect, body.filename
    if ctype.startswith("image/"):
        return await request.body(), None, None
    raise InputError(415, f"unsupported Content-Type {ctype or '(none)'!r}: send {ACCEPTED}")


def create_app(service: PredictService) -> FastAPI:
    """The application around a loaded :class:`PredictService` (the model is loaded before, once)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        service.close()

    # The API docs (/docs, /redoc) serve Swagger UI and ReDoc from the installed package, not from a CDN: the
    # server is meant to work offline, and a page must not fetch scripts from other sites.
    app = FastAPIOffline(title="ferbench serve", version=__version__, lifespan=lifespan,
                         description="Facial-expression recognition with ferbench's model: the same results as "
                                     "`ferbench predict --json`.")
    app.add_middleware(BodyLimit, max_bytes=service.config.max_upload_bytes,
                       read_timeout_s=service.config.read_timeout_s)

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        response = _error(exc.status, exc.message)
        if exc.status == 503:
            response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(400, problems)

    @app.post("/predict", response_model=PredictResponse, responses=_ERRORS, openapi_extra=_PREDICT_BODY,
              summary="Faces, their expression labels and probabilities: the record of `ferbench predict --json`")
    async def predict(request: Request, detect: str | None = None) -> Any:
        data, body_detect, filename = await _read_upload(request)
        record = await run_in_threadpool(service.predict, data, body_detect or detect or "auto", filename)
        return JSONResponse(record)  # exactly the pipeline's record, not re-serialised through the schema

    @app.get("/models", response_model=ModelsResponse, summary="The served model: name, classes, card accuracy")
    async def models() -> Any:
        return {"models": [service.model_info()]}

    @app.get("/healthz", response_model=Health, summary="Liveness, queue length and batching counters")
    async def healthz() -> Any:
        return service.health()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
