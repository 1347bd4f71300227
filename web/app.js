// The lab page: the live picture, a console for the VM picked, its three harmless actions, and
// the event log with filters. Everything live comes from /api/live (server-sent events).
import { drawPicture } from "/assets/draw.js";

const $ = (sel) => document.querySelector(sel);

document.body.innerHTML = `
<header><h1>lab</h1><span id="live" class="note">connecting…</span><span id="fleet" class="note"></span></header>
<main>
  <section id="picture"><h2>Topology</h2><svg id="topology" role="img" aria-label="lab topology"></svg></section>
  <section id="console"><h2>Console</h2>
    <div class="bar"><span class="name" id="console-name">Click a VM to open its serial console</span>
      <button data-action="start" disabled>Start</button><button data-action="stop" disabled>Stop</button>
      <button data-action="restart" disabled>Restart</button></div>
    <div id="term"></div><p id="console-note" class="note"></p>
  </section>
  <section id="events"><h2>Events</h2>
    <div class="filters"><label>VM <select id="filter-vm"><option value="">all</option></select></label>
      <label>type <select id="filter-type"><option value="">all</option></select></label></div>
    <ol id="event-list"></ol>
  </section>
</main>`;

let state;
let selected;
let term;
let socket;
const events = [];

function render() {
  if (!state) return;
  drawPicture($("#topology"), state.picture, selected, pick);
  const f = state.fleet;
  $("#fleet").textContent = "note" in f ? f.note : `fleet: ${f.machines} machines, ${f.units} units (via ${f.at})`;
  const vm = state.picture.vms.find((b) => b.vm.name === selected)?.vm;
  for (const b of document.querySelectorAll("#console button")) {
    const a = b.dataset.action;
    b.disabled = !vm || (a === "start" ? vm.state === "running" : vm.state !== "running");
  }
}

function openTerminal() {
  if (term) return term;
  term = new window.Terminal({
    convertEol: false,
    fontSize: 13,
    theme: { background: "#000000", foreground: "#d0d0d0" },
  });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($("#term"));
  fit.fit();
  window.addEventListener("resize", () => fit.fit());
  term.onData((d) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(new TextEncoder().encode(d));
  });
  return term;
}

function connectConsole(name) {
  socket?.close();
  const t = openTerminal();
  t.reset();
  $("#console-note").textContent = "";
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/vms/${name}/console`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    $("#console-note").textContent = "attached (shared with every other viewer; press Enter for a prompt)";
    t.focus();
  };
  ws.onmessage = (m) => {
    if (typeof m.data === "string") $("#console-note").textContent = JSON.parse(m.data).error ?? m.data;
    else t.write(new Uint8Array(m.data));
  };
  ws.onclose = () => {
    if (socket === ws) $("#console-note").textContent += " — console closed";
  };
  socket = ws;
}

function pick(name) {
  selected = name;
  $("#console-name").textContent = name;
  render();
  connectConsole(name);
}

for (const b of document.querySelectorAll("#console button")) {
  b.addEventListener("click", async () => {
    const a = b.dataset.action;
    if (!selected || !confirm(`${a[0].toUpperCase()}${a.slice(1)} VM ${selected}?`)) return;
    const name = selected;
    b.disabled = true;
    $("#console-note").textContent = `${a} ${name}…`;
    const r = await fetch(`/api/vms/${name}/${a}`, { method: "POST" });
    const body = await r.json().catch(() => ({}));
    $("#console-note").textContent = r.ok ? `${a} ${name}: done` : `${a} ${name} failed: ${body.error ?? r.status}`;
    if (r.ok && a !== "stop" && selected === name) connectConsole(name);
  });
}

function addOption(select, value) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.appendChild(new Option(value, value));
}

function eventItem(e) {
  const li = document.createElement("li");
  li.dataset.type = e.type;
  li.dataset.vm = e.vm ?? "";
  if (/crash|fail|stray/.test(e.type)) li.className = "bad";
  const { time, type, ...rest } = e;
  const t = document.createElement("span");
  t.className = "type";
  t.textContent = type;
  li.append(`${time.slice(11, 19)}  `, t, Object.entries(rest).map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(""));
  return li;
}

function renderEvents() {
  const vm = $("#filter-vm").value;
  const type = $("#filter-type").value;
  const list = $("#event-list");
  const shown = events.filter((e) => (!vm || e.vm === vm) && (!type || e.type === type));
  list.replaceChildren(...shown.slice(-500).reverse().map(eventItem));
}

function addEvents(es) {
  for (const e of es) {
    events.push(e);
    addOption($("#filter-vm"), e.vm);
    addOption($("#filter-type"), e.type);
  }
  renderEvents();
}

$("#filter-vm").addEventListener("change", renderEvents);
$("#filter-type").addEventListener("change", renderEvents);

const initial = await fetch("/api/events?limit=300");
if (initial.ok) addEvents(await initial.json());

const live = new EventSource("/api/live");
live.addEventListener("open", () => {
  $("#live").textContent = "live";
  $("#live").className = "note";
});
live.addEventListener("error", () => {
  $("#live").textContent = "disconnected, retrying…";
  $("#live").className = "note off";
});
live.addEventListener("state", (m) => {
  state = JSON.parse(m.data);
  document.body.dataset.updated = state.time;
  render();
});
live.addEventListener("lab", (m) => addEvents([JSON.parse(m.data)]));
