// The web remote: talks to the show's HTTP API (/api/...) and WebSocket (/ws); no libraries.
// Loopback needs no token; from another device the token comes from the page's #token=...
// fragment (never sent to the server in the URL) or the form, kept in this browser's storage,
// and goes in a header (a WebSocket subprotocol for /ws), never in a cookie.
"use strict";

const TOKEN_KEY = "latent-walk-token";
const SLIDER_SEND_MS = 50;  // at most 20 messages a second from one slider
let token = localStorage.getItem(TOKEN_KEY) || "";
let socket = null;
let sectionNames = "";
let parameterKey = "";
let dragging = null;
let presetNames = null;
const CAMERA = ["translate_x", "translate_y"];  // steered together by the XY pad
let camera = null;  // {x: [low, high], y: [low, high]} while the section steers the camera
const MAX_SEED = 4294967295;

const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get("token")) {
  token = hash.get("token");
  localStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", location.pathname);
}

function $(id) { return document.getElementById(id); }

function showMessage(text) { $("message").textContent = text || ""; }

function needToken() { $("token-box").hidden = false; }

async function send(address, args = []) {
  const message = JSON.stringify({ address, args });
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(message);
    return;
  }
  const headers = { "Content-Type": "application/json" };
  if (token) headers["X-Latent-Walk-Token"] = token;
  try {
    const response = await fetch("/api/command", { method: "POST", headers, body: message });
    const answer = await response.json();
    if (response.status === 401) needToken();
    showMessage(answer.error);
  } catch (error) {
    showMessage("the show does not answer: " + error);
  }
}

function throttled(fn) {
  let last = 0, timer = null, pending = null;
  return (...args) => {
    pending = args;
    const wait = SLIDER_SEND_MS - (Date.now() - last);
    if (wait <= 0) { last = Date.now(); fn(...pending); return; }
    clearTimeout(timer);
    timer = setTimeout(() => { last = Date.now(); fn(...pending); }, wait);
  };
}

function renderStatus(status) {
  const parts = [status.state, status.section, status.show_time_s !== undefined ?
    `${Number(status.show_time_s).toFixed(1)} s` : "", status.paused ? "paused" : "",
    status.fps !== undefined ? `${status.fps} fps` : "", status.level !== undefined ?
    `level ${Number(status.level).toFixed(2)}` : "", status.recoveries ?
    `recoveries ${status.recoveries}` : "", status.memory_mb !== undefined ?
    `mem ${Math.round(status.memory_mb)} MB` : "", status.gpu_memory_mb !== undefined ?
    `gpu ${Math.round(status.gpu_memory_mb)} MB` : ""];
  $("status").textContent = parts.filter(Boolean).join(" · ");
  renderPresets(status.presets === undefined ? null : String(status.presets));
  $("bookmark").textContent = status.bookmark ? "last bookmark: " + status.bookmark : "";
  document.body.classList.toggle("has-midi", status.midi_in !== undefined);
  $("midi-learn").textContent = status.midi_learn ? "MIDI learn: " + status.midi_learn : "";
  if (camera && dragging !== "camera" && status["live/translate_x"] !== undefined) {
    placeCameraDot(Number(status["live/translate_x"]), Number(status["live/translate_y"] || 0));
  }
}

function renderPresets(names) {
  if (names === null || names === presetNames) return;
  presetNames = names;
  $("presets").replaceChildren(...names.split(",").filter(Boolean).map((name) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = name;
    button.dataset.preset = name;
    button.addEventListener("click", () => send("/preset/recall", [name]));
    return button;
  }));
}

function placeCameraDot(x, y) {
  const [xLow, xHigh] = camera.x, [yLow, yHigh] = camera.y;
  const left = (x - xLow) / (xHigh - xLow), top = (y - yLow) / (yHigh - yLow);
  $("camera-dot").style.left = `${Math.min(Math.max(left, 0), 1) * 100}%`;
  $("camera-dot").style.top = `${Math.min(Math.max(top, 0), 1) * 100}%`;
  $("camera-value").textContent = `${x.toFixed(2)}, ${y.toFixed(2)}`;
}

const sendCamera = throttled((x, y) => send("/camera/translate", [x, y]));

function cameraAt(event) {  // the pad position under the pointer, in the section's ranges
  const box = $("camera-pad").getBoundingClientRect();
  const u = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  const v = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
  return [camera.x[0] + u * (camera.x[1] - camera.x[0]),
          camera.y[0] + v * (camera.y[1] - camera.y[0])];
}

function renderSections(sections, current) {
  const names = sections.map((s) => s.name).join("\n");
  const box = $("sections");
  if (names !== sectionNames) {
    sectionNames = names;
    box.replaceChildren(...sections.map((section) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = section.name;
      button.addEventListener("click", () => send("/show/section", [section.index]));
      return button;
    }));
  }
  [...box.children].forEach((b, i) => b.classList.toggle("current", i === current));
}

function parameterAddress(name) { return name === "speed" ? "/show/speed" : "/param/" + name; }

function renderParameters(parameters) {
  const hasCamera = CAMERA.every((name) => name in parameters);
  camera = hasCamera ? { x: [parameters.translate_x.low, parameters.translate_x.high],
                         y: [parameters.translate_y.low, parameters.translate_y.high] } : null;
  $("camera-box").hidden = !hasCamera;
  const names = Object.keys(parameters).filter((n) => !(hasCamera && CAMERA.includes(n)));
  const key = names.map((n) => `${n}:${parameters[n].low}:${parameters[n].high}`).join(",");
  const box = $("parameters");
  if (key !== parameterKey) {
    parameterKey = key;
    box.replaceChildren(...names.map((name) => {
      const { low, high } = parameters[name];
      const label = document.createElement("label");
      label.className = "slider";
      label.append(name + " ");
      const output = document.createElement("output");
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: low, max: high, step: "any" });
      input.value = (low + high) / 2;  // until the show reports a live value
      input.dataset.name = name;
      const sendValue = throttled((value) => send(parameterAddress(name), [value]));
      input.addEventListener("input", () => {
        output.textContent = Number(input.value).toPrecision(3);
        sendValue(Number(input.value));
      });
      input.addEventListener("pointerdown", () => { dragging = name; });
      input.addEventListener("pointerup", () => { dragging = null; });
      // with a MIDI input (status midi_in): bind the next control moved to this parameter
      const learn = document.createElement("button");
      Object.assign(learn, { type: "button", className: "learn", textContent: "MIDI learn" });
      learn.dataset.learn = name;
      learn.addEventListener("click", () => send("/midi/learn", [name]));
      label.append(output, input, learn);
      return label;
    }));
  }
  for (const input of box.querySelectorAll("input")) {
    const value = parameters[input.dataset.name].value;
    if (value !== undefined && dragging !== input.dataset.name) {
      input.value = value;
      input.previousSibling.textContent = Number(value).toPrecision(3);
    }
  }
}

function randomSeed() {
  const words = new Uint32Array(1);
  crypto.getRandomValues(words);
  return words[0] % (MAX_SEED + 1);
}

function showThumbnail(blob) {  // a JPEG of the frame on screen
  const image = $("thumbnail");
  const old = image.src;
  image.src = URL.createObjectURL(blob);
  image.hidden = false;
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

function onUpdate(update) {
  if (update.error) { showMessage(update.error); return; }
  if (update.ok) { showMessage(""); return; }
  if (update.status) renderStatus(update.status);
  if (update.sections) renderSections(update.sections, update.status.section_index);
  if (update.parameters) renderParameters(update.parameters);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const protocols = ["latent-walk"];
  if (token) protocols.push("token." + token);
  let opened = false;
  socket = new WebSocket(`${scheme}//${location.host}/ws`, protocols);
  socket.addEventListener("open", () => { opened = true; showMessage(""); });
  socket.addEventListener("message", (event) => {
    if (typeof event.data === "string") onUpdate(JSON.parse(event.data));
    else showThumbnail(event.data);
  });
  socket.addEventListener("close", async () => {
    socket = null;
    $("status").textContent = "disconnected; retrying…";
    if (!opened) {  // refused: find out why over plain HTTP
      const headers = token ? { "X-Latent-Walk-Token": token } : {};
      try {
        const response = await fetch("/api/status", { headers });
        if (response.status === 401) needToken();
        if (!response.ok) showMessage((await response.json()).error);
      } catch (error) { showMessage("the show does not answer"); }
    }
    setTimeout(connect, 2000);
  });
}

for (const button of document.querySelectorAll("button[data-address]")) {
  button.addEventListener("click", () => send(button.dataset.address));
}
const sendFade = throttled((level) => send("/show/fade", [level, 0.2]));
$("fade").addEventListener("input", () => {
  $("fade-value").textContent = $("fade").value;
  sendFade(Number($("fade").value));
});
$("blackout").addEventListener("click", () => send("/show/blackout", [1, 2]));
$("picture").addEventListener("click", () => send("/show/blackout", [0, 2]));
const pad = $("camera-pad");
pad.addEventListener("pointerdown", (event) => {
  if (!camera) return;
  dragging = "camera";
  pad.setPointerCapture(event.pointerId);
  const [x, y] = cameraAt(event);
  placeCameraDot(x, y);
  sendCamera(x, y);
});
pad.addEventListener("pointermove", (event) => {
  if (dragging !== "camera") return;
  const [x, y] = cameraAt(event);
  placeCameraDot(x, y);
  sendCamera(x, y);
});
for (const end of ["pointerup", "pointercancel"]) {
  pad.addEventListener(end, () => { if (dragging === "camera") dragging = null; });
}
$("camera-centre").addEventListener("click", () => {
  if (camera) { placeCameraDot(0, 0); send("/camera/translate", [0, 0]); }
});
function glideSeconds() { return Math.min(Math.max(Number($("glide-s").value) || 0, 0), 60); }
$("glide-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const seed = Number($("seed").value);
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    showMessage(`a seed is a whole number 0..${MAX_SEED}`);
    return;
  }
  send("/latent/seed", [seed, glideSeconds()]);
});
$("random-seed").addEventListener("click", () => {
  const seed = randomSeed();
  $("seed").value = seed;
  send("/latent/seed", [seed, glideSeconds()]);
});
$("preset-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("preset-name").value.trim();
  if (name) send("/preset/save", [name, $("preset-time").checked ? 1 : 0]);
});
$("bookmark-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("bookmark-name").value.trim();
  if (name) send("/bookmark", [name]);
});
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  $("token-box").hidden = true;
  if (socket) socket.close(); else connect();
});
connect();
