// Draws the picture labd computed (src/web/layout.ts) as SVG. Text from the lab (names, unit
// names) only ever goes in through textContent.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function lines(g, x, y, rows) {
  rows.forEach(([text, cls], i) => g.appendChild(el("text", { x, y: y + 16 * i, class: cls ?? "" }, text)));
}

function networkBox(n) {
  const g = el("g", { class: "net", "data-net": n.net.name });
  g.appendChild(el("rect", { x: n.x, y: n.y, width: n.w, height: n.h, rx: 6 }));
  const v = n.net;
  const rows = v.subnet
    ? [
        [`network ${v.name}  ${v.subnet}`, "title"],
        [`bridge ${v.bridge} ${v.bridgeUp ? "up" : "MISSING"} · gateway ${v.gateway}`],
        [`NAT ${v.nat ? "on" : "rules missing"} · DHCP/DNS ${v.dns ? "on" : "off"} · .${v.domain}`],
        [`DHCP ${v.dhcp}`, "muted"],
        [v.mirror ? `mirror ${v.mirror}` : "mirror not serving", "muted"],
      ]
    : [[v.name, "title"]];
  lines(g, n.x + 10, n.y + 20, rows);
  return g;
}

function vmBox(b, selected) {
  const v = b.vm;
  const g = el("g", { class: `vm${selected ? " selected" : ""}`, "data-vm": v.name, "data-state": v.state });
  g.appendChild(el("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }));
  const state = [v.state, v.uptime, v.state === "running" ? (v.ready ? "ready" : "booting") : ""]
    .filter(Boolean)
    .join(" · ");
  const rows = [
    [`${v.name}  (${v.role})`, "title"],
    [`${v.ip ?? "no IP"}  ${v.mac ?? ""}`, "ip"],
    [state, `state-${v.state}`],
  ];
  if (v.machineId) rows.push([`fleet machine ${v.machineId.slice(0, 8)}`, "muted"]);
  for (const u of v.units) rows.push([`▸ ${u.name}: ${u.state}`, "unit"]);
  lines(g, b.x + 10, b.y + 20, rows.slice(0, 3));
  lines(g, b.x + 18, b.y + 20 + 48 + 6, rows.slice(3));
  return g;
}

/** Replaces the SVG's content with the picture; `onPick(name)` is called when a VM is clicked. */
export function drawPicture(svg, p, selected, onPick) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${p.width} ${p.height}`);
  svg.setAttribute("width", p.width);
  svg.setAttribute("height", p.height);
  for (const l of p.links) {
    const pts = [];
    for (let i = 0; i < l.length; i += 2) pts.push(`${l[i]},${l[i + 1]}`);
    svg.appendChild(el("polyline", { class: "link", points: pts.join(" ") }));
  }
  const up = el("g", { class: "uplink" });
  up.appendChild(el("rect", { x: p.uplink.x, y: p.uplink.y, width: p.uplink.w, height: p.uplink.h, rx: 6 }));
  up.appendChild(
    el("text", { x: p.uplink.x + 10, y: p.uplink.y + 27, class: "title" }, "host · uplink (NAT to the outside)"),
  );
  svg.appendChild(up);
  for (const n of p.networks) svg.appendChild(networkBox(n));
  for (const b of p.vms) {
    const g = vmBox(b, b.vm.name === selected);
    g.addEventListener("click", () => onPick(b.vm.name));
    svg.appendChild(g);
  }
  if (p.vms.length === 0 && p.networks.length === 0)
    svg.appendChild(el("text", { x: 30, y: p.uplink.y + p.uplink.h + 40 }, "No networks yet: lab net up"));
}
