"""Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, hosted APIs) as a predictor.

Each face goes as a base64 PNG data URL with the prompt's question; the free-text answer is parsed like
generate mode (``unparsed`` answers get pred -1, never guessed). Requests run with bounded concurrency and
retry with exponential backoff (and jitter, honouring ``Retry-After``) on 429, 5xx, timeouts and connection
errors. Every response is cached, content-addressed by the request itself with the image replaced by its
SHA-256 (model, prompt, image, temperature, max_tokens, seed; not the server URL), written atomically: a
re-run sends nothing. Token usage and latency go into ``Prediction.extra`` (summed into run.json's cost).
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict

from ...utils.io import cache_dir, sha256_json, write_json
from ..predictor import Prediction, Predictor
from ..registry import register_model
from .images import data_url, png_bytes, to_pil
from .prompts import default_prompt, prediction_from_answers, vlm_prompt

DEFAULT_URLS = {"remote": "http://127.0.0.1:8000/v1", "vllm": "http://127.0.0.1:8000/v1",
                "ollama": "http://127.0.0.1:11434/v1", "llamacpp": "http://127.0.0.1:8080/v1"}


class RemoteOptions(BaseModel):
    """``--option`` keys of the remote family."""

    model_config = ConfigDict(extra="forbid")
    model: Optional[str] = None       # the server's model name (required)
    base_url: Optional[str] = None    # default depends on the registered name (vllm, ollama, llamacpp)
    prompt: str = default_prompt("generative")
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this environment variable, never stored
    concurrency: int = 4
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    temperature: float = 0.0
    max_tokens: int = 16
    seed: Optional[int] = 0
    cache: bool = True
    batch_size: int = 32


class RemoteError(RuntimeError):
    """The server refused a request, or kept failing after every retry."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ResponseCache:
    """One JSON file per request key under ``root/ab/abcdef....json``, written atomically."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):  # absent, or unreadable: ask the server again
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        write_json(self._path(key), record)


class RemotePredictor(Predictor):
    def __init__(self, options: RemoteOptions, name: str):
        if not options.model:
            raise ValueError(f"--model {name} needs --option model=NAME (the model name the server serves)")
        self.options, self.name = options, name
        self.base_url = (options.base_url or DEFAULT_URLS[name]).rstrip("/")
        self.batch_size = options.batch_size
        self.prompt = vlm_prompt(options.prompt)
        self.cache = ResponseCache(cache_dir("remote")) if options.cache else None
        self._client = None
        self._lock = threading.Lock()

    def with_prompt(self, prompt: str) -> "RemotePredictor":
        return RemotePredictor(self.options.model_copy(update={"prompt": prompt}), self.name)

    def payload(self, image_url: str) -> dict[str, Any]:
        o = self.options
        body: dict[str, Any] = {"model": o.model, "temperature": o.temperature, "max_tokens": o.max_tokens,
                                "messages": [{"role": "user", "content": [
                                    {"type": "image_url", "image_url": {"url": image_url}},
                                    {"type": "text", "text": self.prompt.question}]}]}
        if o.seed is not None:
            body["seed"] = o.seed
        return body

    def client(self):
        import httpx

        with self._lock:
            if self._client is None:
                key = os.environ.get(self.options.api_key_env)
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                            timeout=httpx.Timeout(self.options.timeout_s),
                                            limits=httpx.Limits(max_connections=self.options.concurrency))
            return self._client

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /chat/completions with retries; returns text, usage, latency and attempts."""
        import httpx
        import tenacity

        o = self.options
        backoff = tenacity.wait_exponential_jitter(multiplier=o.backoff_s, max=o.backoff_max_s, jitter=o.backoff_s)

        def wait(state: tenacity.RetryCallState) -> float:
            retry_after = getattr(state.outcome.exception(), "retry_after", None) if state.outcome else None
            return max(backoff(state), min(retry_after or 0.0, o.backoff_max_s))

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(o.max_retries + 1), wait=wait, reraise=True,
            retry=tenacity.retry_if_exception_type((_Retryable, httpx.TimeoutException, httpx.TransportError)))
        client = self.client()
        t0 = time.perf_counter()
        try:
            for attempt in retrying:
                with attempt:
                    response = client.post("/chat/completions", json=body)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
                    if response.status_code >= 400:
                        raise RemoteError(f"{self.base_url}/chat/completions: HTTP {response.status_code}: "
                                          f"{response.text[:300]}")
                    data = response.json()
        except (_Retryable, httpx.HTTPError) as exc:
            raise RemoteError(f"{self.base_url}/chat/completions failed after {o.max_retries + 1} attempts: "
                              f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:
            raise RemoteError(f"{self.base_url}/chat/completions: response is not JSON: {exc}") from None
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise RemoteError(f"{self.base_url}/chat/completions: no choices[0].message.content in "
                              f"{str(data)[:300]}") from None
        usage = data.get("usage") or {}
        return {"text": text, "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                "completion_tokens": int(usage.get("completion_tokens") or 0),
                "latency_s": round(time.perf_counter() - t0, 4), "attempts": attempt.retry_state.attempt_number}

    def predict(self, images: np.ndarray) -> Prediction:
        import hashlib

        pngs = [png_bytes(im) for im in to_pil(images)]
        bodies = [self.payload(data_url(png)) for png in pngs]
        keys = [sha256_json(self.payload("sha256:" + hashlib.sha256(png).hexdigest())) for png in pngs]
        records: list[dict[str, Any] | None] = [self.cache.get(k) if self.cache else None for k in keys]
        todo = [i for i, r in enumerate(records) if r is None]

        def fetch(i: int) -> dict[str, Any]:
            record = self.request(bodies[i])
            if self.cache:
                self.cache.put(keys[i], {**record, "model": self.options.model, "prompt": self.prompt.question})
            return record

        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            for i, record in zip(todo, pool.map(fetch, todo)):
                records[i] = record
        fresh = [records[i] for i in todo]
        p = prediction_from_answers([r["text"].strip() for r in records])
        p.extra.update({
            "requests": len(todo), "cache_hits": len(images) - len(todo),
            "retries": sum(r["attempts"] - 1 for r in fresh),
            "prompt_tokens": sum(r["prompt_tokens"] for r in fresh),
            "completion_tokens": sum(r["completion_tokens"] for r in fresh),
            "latency_s": round(sum(r["latency_s"] for r in fresh), 4)})
        return p

    def describe(self) -> dict[str, Any]:
        o = self.options.model_dump(mode="json", exclude={"concurrency", "batch_size", "api_key_env", "cache",
                                                          "max_retries", "timeout_s", "backoff_s", "backoff_max_s"})
        return {"name": self.name, "family": "remote", "base_url": self.base_url, "options": o,
                "question": self.prompt.question}

    def cost_info(self) -> dict[str, Any]:
        return {"remote": True, "base_url": self.base_url, "model": self.options.model}


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def load_remote(name: str, weights: str | Path | None, **options: Any) -> RemotePredictor:
    if weights is not None:
        raise ValueError(f"--model {name} takes no --weights: name the served model with --option model=NAME")
    return RemotePredictor(RemoteOptions(**options), name)


for _name, _what in {"remote": "any OpenAI-compatible server (--option base_url=... model=...)",
                     "vllm": "a vLLM server (default http://127.0.0.1:8000/v1)",
                     "ollama": "an Ollama server (default http://127.0.0.1:11434/v1)",
                     "llamacpp": "a llama.cpp server (default http://127.0.0.1:8080/v1)"}.items():
    register_model(_name, family="remote", predictor=load_remote, description=_what)(load_remote)
