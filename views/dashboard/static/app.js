// The dashboard: one symbol's windows from the change stream
// (GET /v1/counts/{symbol}/changes, server-sent events read with fetch so
// that a token can be sent), drawn as a chart and a table of the last
// minutes. No library: the page must work offline.
"use strict";

const kinds = ["completed", "pending", "flagged", "rejected"];
const $ = (id) => document.getElementById(id);
const state = { symbol: "", windows: new Map(), lastId: "", abort: null, dirty: false };

function token() { return localStorage.getItem("tradeflow-token") || ""; }

function headers(extra) {
  const h = Object.assign({}, extra);
  if (token()) h.Authorization = "Bearer " + token();
  return h;
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (cls || "");
}

// unauthorized shows the token field; a new token reconnects.
function unauthorized() {
  $("token-label").hidden = false;
  setStatus("token required", "error");
}

async function loadSymbols() {
  const resp = await fetch("/v1/symbols", { headers: headers() });
  if (resp.status === 401) { unauthorized(); return []; }
  if (!resp.ok) throw new Error("GET /v1/symbols: " + resp.status);
  return (await resp.json()).symbols;
}

function fillSymbols(symbols) {
  const sel = $("symbol");
  const keep = state.symbol;
  sel.replaceChildren(...symbols.map((s) => new Option(s, s)));
  if (keep && !symbols.includes(keep)) sel.add(new Option(keep, keep));
  sel.value = keep || symbols[0] || "";
}

// follow reads the symbol's change stream until it ends or is aborted,
// then reconnects, resuming after the last event it saw.
async function follow(symbol) {
  if (state.abort) state.abort.abort();
  const abort = new AbortController();
  state.abort = abort;
  state.symbol = symbol;
  state.windows = new Map();
  state.lastId = "";
  state.dirty = true;
  while (!abort.signal.aborted) {
    try {
      const h = headers(state.lastId ? { "Last-Event-ID": state.lastId } : {});
      const resp = await fetch("/v1/counts/" + encodeURIComponent(symbol) + "/changes", { headers: h, signal: abort.signal });
      if (resp.status === 401) { unauthorized(); return; }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      setStatus("live", "live");
      await readEvents(resp.body, abort.signal);
    } catch (e) {
      if (abort.signal.aborted) return;
      setStatus("reconnecting (" + e.message + ")", "error");
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stream ended");
    buf += value;
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      handleEvent(buf.slice(0, end));
      buf = buf.slice(end + 2);
    }
  }
}

function handleEvent(block) {
  let id = "", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const w = JSON.parse(data);
  if (w.deleted) state.windows.delete(w.windowStart);
  else state.windows.set(w.windowStart, w);
  if (id) state.lastId = id;
  state.dirty = true;
}

function minuteLabel(ms) { return new Date(ms).toISOString().slice(0, 16).replace("T", " "); }

// shown is the last N minutes up to the newest window (or now).
function shown() {
  const minutes = Number($("minutes").value);
  const starts = [...state.windows.keys()];
  const newest = starts.length ? Math.max(...starts) : Math.floor(Date.now() / 60000) * 60000;
  const out = [];
  for (let i = minutes - 1; i >= 0; i--) {
    const start = newest - i * 60000;
    out.push(state.windows.get(start) || { windowStart: start, completed: 0, pending: 0, flagged: 0, rejected: 0 });
  }
  return out;
}

function renderTable(ws) {
  const rows = ws.slice().reverse().map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.start = w.windowStart;
    const th = document.createElement("td");
    th.textContent = minuteLabel(w.windowStart);
    tr.append(th);
    for (const k of kinds) {
      const td = document.createElement("td");
      td.className = k;
      td.textContent = w[k];
      tr.append(td);
    }
    return tr;
  });
  document.querySelector("#windows tbody").replaceChildren(...rows);
}

function renderChart(ws) {
  const c = $("chart"), g = c.getContext("2d");
  const pad = 36, w = c.width - 2 * pad, h = c.height - 2 * pad;
  g.clearRect(0, 0, c.width, c.height);
  const top = Math.max(1, ...ws.flatMap((x) => kinds.map((k) => x[k])));
  g.strokeStyle = "#bbb";
  g.fillStyle = "#555";
  g.font = "11px system-ui, sans-serif";
  g.strokeRect(pad, pad, w, h);
  g.fillText(String(top), 4, pad + 4);
  g.fillText("0", 4, pad + h);
  if (ws.length) {
    g.fillText(minuteLabel(ws[0].windowStart).slice(11), pad, pad + h + 16);
    g.fillText(minuteLabel(ws[ws.length - 1].windowStart).slice(11), pad + w - 30, pad + h + 16);
  }
  const style = getComputedStyle(document.documentElement);
  const x = (i) => pad + (ws.length > 1 ? (i * w) / (ws.length - 1) : w / 2);
  for (const k of kinds) {
    g.strokeStyle = style.getPropertyValue("--" + k).trim();
    g.lineWidth = 2;
    g.beginPath();
    ws.forEach((win, i) => {
      const y = pad + h - (win[k] / top) * h;
      if (i === 0) g.moveTo(x(i), y); else g.lineTo(x(i), y);
    });
    g.stroke();
  }
}

function render() {
  if (state.dirty) {
    state.dirty = false;
    const ws = shown();
    renderTable(ws);
    renderChart(ws);
  }
  setTimeout(render, 250);
}

function init() {
  $("token").value = token();
  $("token").addEventListener("change", () => {
    localStorage.setItem("tradeflow-token", $("token").value);
    start();
  });
  $("minutes").addEventListener("change", () => { state.dirty = true; });
  $("symbol").addEventListener("change", () => {
    history.replaceState(null, "", "?symbol=" + encodeURIComponent($("symbol").value));
    follow($("symbol").value);
  });
  state.symbol = new URLSearchParams(location.search).get("symbol") || "";
  render();
  start();
}

async function start() {
  try {
    fillSymbols(await loadSymbols());
  } catch (e) {
    setStatus(e.message, "error");
  }
  if ($("symbol").value) follow($("symbol").value);
  else setTimeout(start, 2000); // nothing counted yet
}

init();
