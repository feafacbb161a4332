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
    `recoveries ${status.recoveries}` : ""];
  $("status").textContent = parts.filter(Boolean).join(" · ");
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
  const names = Object.keys(parameters);
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
      label.append(output, input);
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
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  $("token-box").hidden = true;
  if (socket) socket.close(); else connect();
});
connect();
