// The demo page: three widgets, each a thin client of one public API route.
// Plain ES module, no build step and nothing fetched from outside: the page works offline.

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Every error the service sends is {"error": {"code", "message"}}; anything else (a proxy's HTML
// page, a dropped connection) still becomes one readable message.
async function apiError(response) {
  try {
    const body = await response.json();
    if (body && body.error) return new ApiError(body.error.code, body.error.message);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(`http_${response.status}`, `The service answered ${response.status} ${response.statusText}.`);
}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("network", "Could not reach the service. Is it running?");
  }
  if (!response.ok) throw await apiError(response);
  return response;
}

function showError(element, error) {
  element.textContent = error.code ? `${error.message} (${error.code})` : String(error.message || error);
  element.hidden = false;
}

function modelInfo(model, version) {
  return model ? `model ${model}${version ? ` · version ${version}` : ""}` : "";
}

const percent = (p) => `${(100 * p).toFixed(1)} %`;

// Only the newest request may update a widget: an older, slower answer is aborted, never shown.
function latestOnly() {
  let controller = null;
  return () => {
    if (controller) controller.abort();
    controller = new AbortController();
    return controller.signal;
  };
}

// --- 1. Draw a digit ---------------------------------------------------------------------------

function setupDigits() {
  const canvas = $("digit-canvas");
  const context = canvas.getContext("2d");
  const result = $("digit-result");
  const bars = $("digit-bars");
  const error = $("digit-error");
  const nextSignal = latestOnly();
  let drawing = false;
  let hasInk = false;
  let last = null;

  // An opaque black page with white ink, like MNIST itself; the service accepts any polarity.
  function clear() {
    context.fillStyle = "#000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    hasInk = false;
    result.dataset.state = "idle";
    $("digit-top").textContent = "?";
    $("digit-confidence").textContent = "Draw a digit to see what the model thinks.";
    $("digit-model-info").textContent = "";
    error.hidden = true;
    renderBars(null);
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * canvas.width) / rect.width,
      y: ((event.clientY - rect.top) * canvas.height) / rect.height,
    };
  }

  function stroke(from, to) {
    context.strokeStyle = "#fff";
    context.fillStyle = "#fff";
    context.lineWidth = canvas.width / 13; // about MNIST's stroke-to-digit ratio
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    hasInk = true;
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    stroke(last, last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    predict();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  function renderBars(probabilities) {
    const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    bars.replaceChildren(
      ...Array.from({ length: 10 }, (_, digit) => {
        const p = probabilities ? probabilities[digit] : 0;
        const row = document.createElement("li");
        row.className = digit === top ? "bar-row top" : "bar-row";
        row.dataset.testid = `digit-bar-${digit}`;
        row.innerHTML = `<span class="bar-label">${digit}</span>
          <span class="bar-track"><span class="bar-fill" style="width: ${(100 * p).toFixed(1)}%"></span></span>
          <span class="bar-value">${probabilities ? percent(p) : ""}</span>`;
        row.setAttribute("aria-label", `${digit}: ${percent(p)}`);
        return row;
      }),
    );
  }

  async function predict() {
    if (!hasInk) {
      showError(error, { message: "Draw a digit first." });
      return;
    }
    const signal = nextSignal();
    result.dataset.state = "loading";
    error.hidden = true;
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const model = $("digit-model").value;
    try {
      const response = await request(`/predict/digit?model=${encodeURIComponent(model)}`, {
        method: "POST",
        headers: { "Content-Type": "image/png" },
        body: blob,
        signal,
      });
      const answer = await response.json();
      $("digit-top").textContent = String(answer.digit);
      $("digit-confidence").textContent = `${percent(answer.confidence)} confident`;
      $("digit-model-info").textContent = modelInfo(answer.model, answer.model_version);
      renderBars(answer.probabilities);
      result.dataset.state = "done";
    } catch (caught) {
      if (caught.name === "AbortError") return;
      result.dataset.state = "error";
      showError(error, caught);
    }
  }

  $("digit-clear").addEventListener("click", clear);
  $("digit-predict").addEventListener("click", predict);
  $("digit-model").addEventListener("change", () => hasInk && predict());
  clear();
}

// --- 2. Review sentiment -----------------------------------------------------------------------

function setupSentiment() {
  const form = $("sentiment-form");
  const text = $("sentiment-text");
  const result = $("sentiment-result");
  const label = $("sentiment-label");
  const error = $("sentiment-error");
  const nextSignal = latestOnly();

  async function analyse(event) {
    event.preventDefault();
    const signal = nextSignal();
    result.dataset.state = "loading";
    error.hidden = true;
    const model = $("sentiment-model").value;
    try {
      const response = await request(`/sentiment?model=${encodeURIComponent(model)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: text.value }),
        signal,
      });
      const answer = await response.json();
      label.textContent = answer.label;
      label.className = `pill ${answer.label}`;
      // score is P(positive): the gauge runs from certainly negative to certainly positive.
      $("sentiment-score").textContent = `P(positive) = ${answer.score.toFixed(3)}`;
      $("sentiment-marker").style.left = `${(100 * answer.score).toFixed(1)}%`;
      $("sentiment-model-info").textContent = modelInfo(answer.model, answer.model_version);
      result.dataset.state = "done";
    } catch (caught) {
      if (caught.name === "AbortError") return;
      result.dataset.state = "error";
      showError(error, caught);
    }
  }

  form.addEventListener("submit", analyse);
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
}

// --- 3. Generate digits ------------------------------------------------------------------------

function setupGenerate() {
  const form = $("generate-form");
  const result = $("generate-result");
  const image = $("generate-image");
  const error = $("generate-error");
  const reuse = $("generate-reuse");
  const nextSignal = latestOnly();
  let objectUrl = null;

  async function generate(event) {
    event.preventDefault();
    const signal = nextSignal();
    result.dataset.state = "loading";
    error.hidden = true;
    const query = new URLSearchParams({ count: $("generate-count").value, format: "png" });
    const digit = $("generate-digit").value;
    const seed = $("generate-seed").value.trim();
    if (digit !== "") query.set("digit", digit);
    if (seed !== "") query.set("seed", seed);
    try {
      const response = await request(`/generate?${query}`, { signal });
      const blob = await response.blob();
      const loaded = new Promise((resolve, reject) => {
        image.onload = resolve;
        image.onerror = () => reject(new ApiError("bad_image", "The service sent an image the browser cannot show."));
      });
      if (objectUrl) URL.revokeObjectURL(objectUrl); // the previous grid would leak otherwise
      objectUrl = URL.createObjectURL(blob);
      image.src = objectUrl;
      await loaded;
      const shownSeed = response.headers.get("X-Seed");
      image.alt = `${query.get("count")} generated images of ${digit === "" ? "any digit" : `the digit ${digit}`}`;
      image.hidden = false;
      $("generate-placeholder").hidden = true;
      $("generate-seed-info").textContent = shownSeed === null ? "" : `seed ${shownSeed}`;
      reuse.hidden = shownSeed === null;
      reuse.dataset.seed = shownSeed ?? "";
      const model = response.headers.get("X-Model");
      $("generate-model-info").textContent = modelInfo(model, response.headers.get("X-Model-Version"));
      result.dataset.state = "done";
    } catch (caught) {
      if (caught.name === "AbortError") return;
      result.dataset.state = "error";
      showError(error, caught);
    }
  }

  form.addEventListener("submit", generate);
  reuse.addEventListener("click", () => {
    $("generate-seed").value = reuse.dataset.seed;
  });
}

setupDigits();
setupSentiment();
setupGenerate();
