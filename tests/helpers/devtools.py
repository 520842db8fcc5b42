"""Headless Chromium, driven over the Chrome DevTools Protocol, for the demo-page tests.

Chromium is driven with the `websockets` package the service already installs
(uvicorn[standard]), so the tests need no Selenium, Playwright or browser download. Input is real:
mouse events and typed text go through Chromium's input pipeline, as a user's do.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.helpers.waiting import eventually

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--remote-debugging-port=0",
    "--window-size=1280,1400",
]


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page (flattened session)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.session: str | None = None
        self.ids = itertools.count(1)
        self.errors: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a protocol method and return its result, noting the events that arrive first."""
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == message["id"]:
                assert "error" not in reply, f"{method} failed: {reply['error']}"
                return reply.get("result", {})
            self._note(reply)

    def _note(self, event: dict[str, Any]) -> None:
        """Remember page errors: an uncaught exception or console.error fails the test."""
        params = event.get("params", {})
        if event.get("method") == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page, promises awaited."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout_s: float = 30.0) -> Any:
        """The expression's first truthy value; on timeout, fail with what the page shows."""
        try:
            return eventually(
                lambda: self.evaluate(expression), timeout_s, interval_s=0.1, what=what
            )
        except AssertionError as exc:
            state = self.evaluate("document.querySelector('main').innerText")
            pytest.fail(f"{exc}; the page shows:\n{state}")

    def mouse(self, kind: str, x: float, y: float, buttons: int) -> None:
        """One mouse event at (x, y) in CSS pixels; `buttons` 1 while the left button is down."""
        button = "left" if kind != "mouseMoved" or buttons else "none"
        self.send(
            "Input.dispatchMouseEvent",
            type=kind,
            x=x,
            y=y,
            button=button,
            buttons=buttons,
            clickCount=1 if kind != "mouseMoved" else 0,
        )

    def centre_of(self, testid: str) -> tuple[float, float]:
        """Where the element with this data-testid is, in CSS pixels."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector('[data-testid={testid}]')"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        return box[0], box[1]

    def click(self, testid: str) -> None:
        """Scroll the element into view and click its centre."""
        self.evaluate(f"document.querySelector('[data-testid={testid}]').scrollIntoView()")
        x, y = self.centre_of(testid)
        self.mouse("mousePressed", x, y, 1)
        self.mouse("mouseReleased", x, y, 0)

    def type_into(self, testid: str, text: str) -> None:
        """Empty a text field, click it and type `text`."""
        self.evaluate(f"document.querySelector('[data-testid={testid}]').value = ''")
        self.click(testid)
        self.send("Input.insertText", text=text)

    def assert_no_errors(self) -> None:
        """Fail if the page threw or logged an error so far."""
        assert self.errors == [], f"the page logged errors: {self.errors}"


def text_of(testid: str) -> str:
    """JavaScript for the trimmed text of the element with this data-testid."""
    return f"document.querySelector('[data-testid={testid}]').textContent.trim()"


def result_state(testid: str) -> str:
    """JavaScript for the `data-state` of a result panel ('done' once an answer is shown)."""
    return f"document.querySelector('[data-testid={testid}]').dataset.state"


@contextmanager
def chromium(profile: Path) -> Iterator[DevTools]:
    """Headless Chromium with one blank page attached, 1280×1400 CSS pixels; closed after."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; `make test` installs Debian's chromium package")
    process = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_devtools_url(profile, process), max_size=None, open_timeout=30) as socket:
            yield _attached_page(DevTools(socket))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _attached_page(devtools: DevTools) -> DevTools:
    """Open a blank page, attach to it, and listen for its errors."""
    target = devtools.send("Target.createTarget", url="about:blank")["targetId"]
    attached = devtools.send("Target.attachToTarget", targetId=target, flatten=True)
    devtools.session = attached["sessionId"]
    for domain in ("Page", "Runtime"):
        devtools.send(f"{domain}.enable")
    devtools.send(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=1400,
        deviceScaleFactor=1,
        mobile=False,
    )
    return devtools


def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes its port and browser path to DevToolsActivePort once it listens."""
    active = profile / "DevToolsActivePort"

    def listening() -> list[str]:
        # pytest.fail is no AssertionError, so `eventually` stops at once if Chromium died.
        if process.poll() is not None:
            pytest.fail(f"chromium exited with status {process.returncode}")
        lines = active.read_text().split() if active.exists() else []
        return lines if len(lines) == 2 else []

    port, path = eventually(listening, 30, interval_s=0.05, what="chromium's DevTools port")
    return f"ws://127.0.0.1:{port}{path}"
