"""The demo page in real headless Chromium: draw a digit, score a review, generate digits.

Chromium is driven over the DevTools protocol with the `websockets` package the service already
installs (uvicorn[standard]), so the test needs no Selenium, Playwright or browser download.
Input is real: mouse events and typed text go through Chromium's input pipeline, as a user's do.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.browser

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
# Plain words of praise ("great", "good") so that any sentiment model, trained or a test
# stand-in, has to call it positive.
POSITIVE_REVIEW = (
    "A great film, and a good one to watch twice. The acting is superb, the story is moving and "
    "beautifully told. One of the best movies I have ever seen: I loved every minute of it."
)
# Test accuracy at training below which a served model is a stand-in (a tiny test graph, the
# smoke profile) that cannot be expected to read a drawn seven or a glowing review.
TRAINED_ACCURACY = {"digits-cnn": 0.95, "sentiment-lstm": 0.8}
# A seven as a user draws it, in fractions of the canvas: a top bar, then the long diagonal.
SEVEN_STROKES = [[(0.22, 0.2), (0.78, 0.2), (0.45, 0.85)]]


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page (flattened session)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.session: str | None = None
        self.ids = itertools.count(1)
        self.errors: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
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
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        state = self.evaluate("document.querySelector('main').innerText")
        pytest.fail(
            f"timed out after {timeout_s:.0f} s waiting for {what}; the page shows:\n{state}"
        )

    def mouse(self, kind: str, x: float, y: float, buttons: int) -> None:
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
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector('[data-testid={testid}]')"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        return box[0], box[1]

    def click(self, testid: str) -> None:
        self.evaluate(f"document.querySelector('[data-testid={testid}]').scrollIntoView()")
        x, y = self.centre_of(testid)
        self.mouse("mousePressed", x, y, 1)
        self.mouse("mouseReleased", x, y, 0)

    def type_into(self, testid: str, text: str) -> None:
        self.evaluate(f"document.querySelector('[data-testid={testid}]').value = ''")
        self.click(testid)
        self.send("Input.insertText", text=text)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; `make test` installs Debian's chromium package")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_devtools_url(profile, process), max_size=None, open_timeout=30) as socket:
            devtools = DevTools(socket)
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
            yield devtools
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes its port and browser path to DevToolsActivePort once it listens."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"chromium exited with status {process.returncode}"
        lines = active.read_text().split() if active.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    pytest.fail("chromium did not open its DevTools port within 30 s")


@pytest.fixture(scope="module")
def page(browser: DevTools, live_server: str) -> DevTools:
    browser.send("Page.navigate", url=f"{live_server}/")
    loaded = "document.readyState === 'complete'"
    scripted = "!!document.querySelector('[data-testid=digit-bar-9]')"  # app.js drew the bars
    browser.wait_for(f"{loaded} && {scripted}", "the page and its script to load")
    return browser


@pytest.fixture(scope="module")
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30.0, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def trained(http: httpx.Client) -> set[str]:
    """The served models whose test accuracy at training shows a real model, not a stand-in."""
    response = http.get("/v1/models")
    assert response.status_code == 200, response.text
    accuracy = {
        m["name"]: m["metrics"].get("test_accuracy", 0.0) for m in response.json()["models"]
    }
    return {name for name, floor in TRAINED_ACCURACY.items() if accuracy.get(name, 0.0) >= floor}


def result_state(testid: str) -> str:
    return f"document.querySelector('[data-testid={testid}]').dataset.state"


def text_of(testid: str) -> str:
    return f"document.querySelector('[data-testid={testid}]').textContent.trim()"


def draw(page: DevTools, strokes: list[list[tuple[float, float]]]) -> None:
    """Drag the mouse along each stroke over the canvas, in small steps like a real hand."""
    page.evaluate("document.querySelector('[data-testid=digit-canvas]').scrollIntoView()")
    rect = page.evaluate(
        "(() => { const r = document.querySelector('[data-testid=digit-canvas]')"
        ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
    )
    left, top, width, height = rect
    for stroke in strokes:
        points = [(left + fx * width, top + fy * height) for fx, fy in stroke]
        page.mouse("mousePressed", *points[0], 1)
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 13):
                page.mouse("mouseMoved", x0 + (x1 - x0) * step / 12, y0 + (y1 - y0) * step / 12, 1)
        page.mouse("mouseReleased", *points[-1], 0)


def assert_no_page_errors(page: DevTools) -> None:
    assert page.errors == [], f"the page logged errors: {page.errors}"


def test_the_predict_button_asks_again_and_clear_resets(page: DevTools) -> None:
    page.click("digit-clear")
    draw(page, SEVEN_STROKES)
    page.click("digit-predict")
    page.wait_for(f"{result_state('digit-result')} === 'done'", "the digit prediction")
    page.click("digit-clear")
    assert page.evaluate(text_of("digit-top")) == "?", "Clear should forget the old answer"
    page.click("digit-predict")
    assert page.wait_for(text_of("digit-error"), "a hint to draw first") == "Draw a digit first."
    assert_no_page_errors(page)


def test_a_drawn_seven_shows_the_api_answer(
    page: DevTools, http: httpx.Client, trained: set[str]
) -> None:
    page.click("digit-clear")
    draw(page, SEVEN_STROKES)
    page.wait_for(f"{result_state('digit-result')} === 'done'", "the digit prediction")
    shown = page.evaluate(text_of("digit-top"))
    bars = page.evaluate(
        "[...document.querySelectorAll('[data-testid^=digit-bar-]')].map(row =>"
        " [row.classList.contains('top'), parseFloat(row.querySelector('.bar-fill').style.width)])"
    )
    # The same canvas, posted directly: the page must show exactly what the API answers.
    canvas = page.evaluate("document.querySelector('[data-testid=digit-canvas]').toDataURL()")
    png = base64.b64decode(canvas.split(",", 1)[1])
    response = http.post(
        "/predict/digit?model=cnn", content=png, headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert shown == str(answer["digit"]), f"page shows {shown}, the API says {answer}"
    assert len(bars) == 10, "one probability bar per digit"
    assert [top for top, _ in bars] == [d == answer["digit"] for d in range(10)], bars
    widths = [width for _, width in bars]
    assert widths == pytest.approx([100 * p for p in answer["probabilities"]], abs=0.1), bars
    assert page.evaluate(text_of("digit-confidence")).endswith("% confident")
    assert answer["model"] in page.evaluate(text_of("digit-model-info"))
    if "digits-cnn" in trained:
        assert shown == "7", f"a trained CNN should read the drawn seven; it says {answer}"
    assert_no_page_errors(page)


def test_a_glowing_review_shows_the_api_answer(
    page: DevTools, http: httpx.Client, trained: set[str]
) -> None:
    page.type_into("sentiment-text", POSITIVE_REVIEW)
    page.click("sentiment-submit")
    page.wait_for(f"{result_state('sentiment-result')} === 'done'", "the sentiment")
    response = http.post("/sentiment?model=lstm", json={"text": POSITIVE_REVIEW})
    assert response.status_code == 200, response.text
    answer = response.json()
    label = page.evaluate(text_of("sentiment-label"))
    assert label == answer["label"], f"page shows {label!r}, the API says {answer}"
    score = page.evaluate(text_of("sentiment-score"))
    assert score == f"P(positive) = {answer['score']:.3f}", score
    assert answer["model"] in page.evaluate(text_of("sentiment-model-info"))
    if "sentiment-lstm" in trained:
        assert label == "positive", f"a trained LSTM should like this review; it says {answer}"
    assert_no_page_errors(page)


def test_generated_digits_are_shown_with_their_seed(page: DevTools) -> None:
    page.evaluate(
        "(() => { const s = document.querySelector('[data-testid=generate-digit]');"
        " s.value = '7'; s.dispatchEvent(new Event('change')); })()"
    )
    page.type_into("generate-seed", "42")
    page.click("generate-submit")
    page.wait_for(f"{result_state('generate-result')} === 'done'", "the generated grid")
    image = page.evaluate(
        "(() => { const i = document.querySelector('[data-testid=generate-image]');"
        " return [i.complete, i.naturalWidth, i.naturalHeight, i.hidden, i.src]; })()"
    )
    complete, width, height, hidden, source = image
    assert complete, "the grid image should have loaded"
    assert not hidden, "the grid image should be visible"
    assert width >= 4 * 28, f"16 digits need a grid, got {width}x{height} px"
    assert height >= 2 * 28, f"16 digits need a grid, got {width}x{height} px"
    assert source.startswith("blob:"), source
    assert page.evaluate(text_of("generate-seed-info")) == "seed 42"
    assert_no_page_errors(page)


def test_a_screenshot_of_the_page_is_saved(
    page: DevTools, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot = tmp_path / "demo-page.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    request.node.user_properties.append(("screenshot", str(screenshot)))
    assert screenshot.stat().st_size > 10_000, "the screenshot should show a rendered page"
