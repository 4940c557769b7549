"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests and the overhead benchmark:
answers from a Python function of the decoded image, with scripted failures (HTTP 429/500, hangs) and
counters of requests and of the largest number in flight at once."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import numpy as np
from PIL import Image

Answer = Callable[[np.ndarray, str], str]  # (uint8 image, question) -> answer text


def _image(body: dict) -> tuple[np.ndarray, str]:
    content = body["messages"][0]["content"]
    url = next(c["image_url"]["url"] for c in content if c["type"] == "image_url")
    question = next(c["text"] for c in content if c["type"] == "text")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png))), question


class FakeChatServer:
    """``with FakeChatServer(answer, failures=[429, 500, "hang"]) as server: server.url`` — each scripted
    failure is served to one request, in order; then requests succeed. ``delay_s`` slows every answer."""

    def __init__(self, answer: Answer = lambda image, question: "happy", failures: list[int | str] | None = None,
                 delay_s: float = 0.0, hang_s: float = 2.0):
        self.answer, self.failures, self.delay_s, self.hang_s = answer, list(failures or []), delay_s, hang_s
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    failure = server.failures.pop(0) if server.failures else None
                try:
                    self._respond(body, failure)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _respond(self, body: dict, failure: int | str | None) -> None:
                if failure == "hang":
                    time.sleep(server.hang_s)
                if isinstance(failure, int):
                    self._send(failure, {"error": {"message": f"injected {failure}"}}, {"Retry-After": "0"})
                    return
                time.sleep(server.delay_s)
                image, question = _image(body)
                text = server.answer(image, question)
                self._send(200, {"id": "fake", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 100 + len(question.split()),
                                           "completion_tokens": len(text.split()),
                                           "total_tokens": 100 + len(question.split()) + len(text.split())}})

            def _send(self, status: int, obj: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeChatServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
