"""``ferbench serve`` as a user runs it: the real command in a subprocess on a free 127.0.0.1 port, reached over
TCP by raw sockets (slow and dropped clients), httpx, and headless Chromium driving the page (photo upload,
webcam through Chromium's fake camera, a bad file)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from helpers import _driver

from ferbench.emotions import EMOTIONS

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install ferbench[serve])")
READ_TIMEOUT_S = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path_factory.mktemp("serve") / "server.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "ferbench", "serve", "--model", "fernet", "--port", str(port),
                             "--read-timeout", str(READ_TIMEOUT_S), "--log-level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"ferbench serve did not start (exit {proc.poll()}):\n{log.read()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _photo() -> str:
    from matplotlib import cbook

    return cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


def _slow_upload(port: int, declared: int = 5000) -> socket.socket:
    """A client that declares a body and sends only a little of it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S + 10)
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
              b"Content-Length: %d\r\n\r\n\x89PNG" % declared)
    return s


def _read_response(s: socket.socket) -> str:
    """One whole HTTP response (headers and Content-Length bytes of body) from a raw socket."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n")
                           if h.lower().startswith(b"content-length:")), 0)
            if len(body) >= length:
                return data.decode(errors="replace")
        chunk = s.recv(4096)
        if not chunk:
            return data.decode(errors="replace")
        data += chunk


def test_slow_and_dropped_clients_do_not_block_others(server):
    port = int(server.rsplit(":", 1)[1])
    slow = _slow_upload(port)
    dropped = _slow_upload(port)
    dropped.close()  # gone mid-body
    with open(_photo(), "rb") as f:
        data = f.read()
    started = time.monotonic()
    r = httpx.post(server + "/predict", files={"file": ("p.jpg", data, "image/jpeg")}, timeout=30)
    waited = time.monotonic() - started
    assert r.status_code == 200 and len(r.json()["faces"]) == 1
    assert waited < READ_TIMEOUT_S, f"a well-behaved client waited {waited:.1f} s behind a slow one"
    answer = _read_response(slow)  # the slow client is cut off after the read timeout
    slow.close()
    assert answer.startswith("HTTP/1.1 408") and "not received within" in answer
    assert (time.monotonic() - started) >= READ_TIMEOUT_S - waited - 0.5
    assert httpx.get(server + "/healthz").json()["status"] == "ok"


def test_page_assets_and_api_over_tcp(server):
    assert httpx.get(server + "/").headers["content-type"].startswith("text/html")
    assert httpx.get(server + "/static/app.js").status_code == 200
    assert httpx.get(server + "/models").json()["models"][0]["name"] == "fernet"
    r = httpx.post(server + "/predict", content=b"", headers={"content-type": "image/jpeg"})
    assert r.status_code == 400 and "empty image" in r.json()["error"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # The fake camera/consent flags give getUserMedia a synthetic video stream; the bypass list lets the
    # browser reach this test's server on 127.0.0.1 while every other address still goes to a dead proxy.
    driver = _driver(tmp_path_factory.mktemp("profile"), ("--use-fake-device-for-media-stream",
                                                          "--use-fake-ui-for-media-stream",
                                                          "--proxy-bypass-list=127.0.0.1"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


FIRST_FACE = """const label = document.querySelector('#faces .face .label');
  const box = document.querySelector('#boxes .box');
  return label && box ? [label.textContent, box.textContent, box.getBoundingClientRect().width,
                         document.querySelectorAll('#faces .bar').length] : null;"""


def test_page_uploads_a_photo_and_shows_box_label_and_bars(server, browser, tmp_path):
    browser.get(server + "/")
    _wait(browser, "return document.getElementById('model-name').textContent === 'fernet'")
    assert "67.68%" in browser.find_element("id", "model-accuracy").text  # from the model card
    browser.find_element("id", "file").send_keys(_photo())
    label, box_text, box_width, bars = _wait(browser, f"return (() => {{ {FIRST_FACE} }})()")
    expected = httpx.post(server + "/predict", files={"file": ("p.jpg", open(_photo(), "rb"), "image/jpeg")}).json()
    assert label == expected["faces"][0]["label"] and label in EMOTIONS
    assert box_text.startswith(f"1: {label}") and box_width > 20 and bars == 7
    assert browser.find_element("id", "error").get_attribute("hidden") is not None
    assert browser.save_screenshot(str(tmp_path / "upload.png"))


def test_page_reports_a_bad_file(server, browser, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image at all")
    browser.get(server + "/")
    browser.find_element("id", "file").send_keys(str(bad))
    message = _wait(browser, "const e = document.getElementById('error'); return !e.hidden && e.textContent")
    assert "not an image" in message
    assert browser.execute_script("return document.querySelectorAll('#boxes .box').length") == 0


def test_page_webcam_with_chromiums_fake_camera(server, browser):
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/")
    # The fake camera shows a moving pattern, not a face: classify the whole frame.
    Select(browser.find_element("id", "detect")).select_by_value("never")
    browser.find_element("id", "webcam").click()
    label, box_text, _, bars = _wait(browser, f"return (() => {{ {FIRST_FACE} }})()")
    assert label in EMOTIONS and bars == 7
    status = browser.find_element("id", "status").text
    assert "webcam.jpg" in status
    browser.find_element("id", "stop").click()
    assert _wait(browser, "return document.getElementById('stop').hidden")


def test_api_docs_render_offline(server, browser):
    # The browser can reach nothing but this server, so the docs render only if their scripts are served locally.
    browser.get(server + "/docs")
    paths = _wait(browser, "const p = [...document.querySelectorAll('.opblock-summary-path')]"
                           ".map(e => e.textContent); return p.length ? p : null")
    assert {"/predict", "/models", "/healthz"} <= set(paths)
    browser.get(server + "/redoc")
    _wait(browser, "return document.body.innerText.includes('POST') && document.body.innerText.includes('/predict')")
    html = httpx.get(server + "/docs").text + httpx.get(server + "/redoc").text
    assert "cdn." not in html and "https://" not in html
