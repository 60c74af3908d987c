// Starlane dashboard: keeps the server-rendered pages live from one server-sent event
// stream (/api/stream: "state" snapshots and "event" entries), draws sparklines, the
// bridge graph and the map's tiles, and posts operator actions. Plain JavaScript, no
// build step, nothing loaded from elsewhere.
"use strict";

const page = document.body.dataset.page;
let snap = null;
let events = [];

// ---- small helpers ----
const $ = (sel, el = document) => el.querySelector(sel);
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const f1 = (v) => (v || 0).toFixed(1);
const ago = (ms) => (ms <= 0 ? "—" : ms < 10000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 1000) + "s");
const clock = (ms) => new Date(ms).toISOString().slice(11, 23);
function toast(text, bad) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "show bad" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ""), 6000);
}

// ---- operator token and actions ----
const tokenInput = $("#token");
tokenInput.value = localStorage.getItem("starlane-token") || "";
tokenInput.addEventListener("change", () => localStorage.setItem("starlane-token", tokenInput.value.trim()));

// act posts an operator action. A request that got no answer (a dropped
// connection) is sent again with the same request ID, which the controller
// applies once.
async function act(action, body) {
  const rid = "web-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
  const headers = { "Content-Type": "application/json", "X-Starlane-Request-Id": rid };
  const tok = (localStorage.getItem("starlane-token") || "").trim();
  if (tok) headers["X-Starlane-Token"] = tok;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fetch("/api/actions/" + action, { method: "POST", headers, body: JSON.stringify(body) });
      const js = await r.json();
      if (!r.ok) toast(action + ": " + js.error, true);
      else toast(js.message);
      return r.ok;
    } catch (e) {
      if (attempt < 3) {
        await new Promise((ok) => setTimeout(ok, 300 * attempt));
        continue;
      }
      toast(action + ": " + e, true);
      return false;
    }
  }
}

document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const d = b.dataset;
  if (d.action === "move") {
    const sel = b.previousElementSibling;
    act("move", { surface: d.surface, to: sel && sel.value });
  } else if (d.action === "cordon") {
    act("cordon", { node: d.node, cordoned: d.on === "1" });
  } else if (d.action === "drain") {
    if (confirm("Drain node " + d.node + "? It is cordoned and its surfaces move to other nodes.")) act("drain", { node: d.node });
  }
});

const bridgeForm = $("#bridge-form");
if (bridgeForm) {
  bridgeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(bridgeForm);
    if (await act("bridge", Object.fromEntries(f.entries()))) bridgeForm.reset();
  });
}

// ---- live stream ----
// A browser keeps at most six HTTP/1.1 connections to one host, and a page kept in
// the back/forward cache would hold its stream's: close the stream when the page
// is hidden and open it again if the page comes back.
let es = null;
window.addEventListener("pagehide", () => { if (es) es.close(); });
window.addEventListener("pageshow", (e) => { if (e.persisted) connect(); });

function connect() {
  const live = $("#live");
  es = new EventSource("/api/stream");
  es.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  es.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
  es.addEventListener("state", (m) => { snap = JSON.parse(m.data); render(); });
  es.addEventListener("events", (m) => { events = JSON.parse(m.data) || []; renderEvents(); });
  es.addEventListener("event", (m) => {
    const ev = JSON.parse(m.data);
    events.push(ev);
    if (events.length > 400) events = events.slice(-200);
    if (ev.class === "failover") toast("failover: " + ev.subject + " — " + ev.message, true);
    renderEvents(ev);
  });
}

function render() {
  $("#index").textContent = snap.index;
  $("#served").textContent = snap.served_by;
  const p = $("#problem");
  p.hidden = !snap.error;
  p.textContent = snap.error || "";
  if (page === "cluster") renderCluster();
  if (page === "surfaces") renderSurfaces();
  if (page === "bridges") renderBridges();
  if (page === "map") mapTick();
}

// fill updates a table body to rows in place, row by row (keyed by the row's
// data-node, data-surface, ... attribute) and cell by cell, so that a cell that did
// not change keeps its elements: a button stays clickable and an open menu open
// while the stats around it tick.
const keyOf = (r) => r.dataset.node || r.dataset.surface || r.dataset.bridge || r.dataset.controller || "";
function fill(tbody, rows) {
  const old = new Map([...tbody.children].map((r) => [keyOf(r), r]));
  rows.forEach((r, i) => {
    const cur = old.get(keyOf(r));
    if (!cur) {
      tbody.insertBefore(r, tbody.children[i] || null);
      return;
    }
    old.delete(keyOf(r));
    if (tbody.children[i] !== cur) tbody.insertBefore(cur, tbody.children[i] || null);
    cur.className = r.className;
    const cells = [...r.children];
    cells.forEach((cell, j) => {
      const c = cur.children[j];
      if (!c) cur.append(cell);
      else if (c.outerHTML !== cell.outerHTML) c.replaceWith(cell);
    });
    while (cur.children.length > cells.length) cur.lastChild.remove();
  });
  old.forEach((r) => r.remove());
}

function renderCluster() {
  fill($("#controllers tbody"), (snap.controllers || []).map((c) =>
    h("tr", { "data-controller": c.id, class: c.leader ? "leader" : "" },
      h("td", {}, c.id),
      h("td", { class: "role " + c.state }, c.state + (c.leader ? " ★" : ""), c.error ? h("small", {}, " " + c.error) : null),
      h("td", {}, c.term), h("td", {}, c.applied), h("td", {}, c.suffrage), h("td", {}, c.api), h("td", {}, c.raft))));
  const nodes = snap.nodes || [];
  fill($("#nodes tbody"), nodes.map((n) =>
    h("tr", { "data-node": n.id },
      h("td", {}, n.id),
      h("td", { class: "status " + n.status }, n.status + (n.cordoned ? " · cordoned" : "")),
      h("td", {}, f1(n.load_pct) + "%"),
      h("td", {}, (n.primaries || []).join(", ")), h("td", {}, (n.standbys || []).join(", ")),
      h("td", {}, ago(n.heartbeat_ago_ms)), h("td", {}, n.address),
      h("td", { class: "actions" },
        n.cordoned
          ? h("button", { "data-action": "cordon", "data-node": n.id, "data-on": "0" }, "uncordon")
          : h("button", { "data-action": "cordon", "data-node": n.id, "data-on": "1" }, "cordon"),
        h("button", { "data-action": "drain", "data-node": n.id }, "drain")))));
  $("#surface-summary").firstChild.textContent = (snap.surfaces || []).length + " surfaces, " + (snap.bridges || []).length + " bridges — ";
}

function sparkline(values) {
  const w = 160, hgt = 28, max = 70;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("class", "sparkline");
  const n = values.length;
  if (n > 1) {
    const pts = values.map((v, i) => `${(i * w / (n - 1)).toFixed(1)},${(hgt - Math.min(v, max) / max * hgt).toFixed(1)}`);
    const line = document.createElementNS(svg.namespaceURI, "polyline");
    line.setAttribute("points", pts.join(" "));
    svg.append(line);
    const target = document.createElementNS(svg.namespaceURI, "line");
    const y = (hgt - 60 / max * hgt).toFixed(1);
    Object.entries({ x1: 0, x2: w, y1: y, y2: y, class: "target" }).forEach(([k, v]) => target.setAttribute(k, v));
    svg.append(target);
  }
  return svg;
}

function renderSurfaces() {
  const nodes = (snap.nodes || []).filter((n) => n.status === "up").map((n) => n.id);
  fill($("#surfaces tbody"), (snap.surfaces || []).map((s) => {
    const others = nodes.filter((n) => n !== s.node);
    return h("tr", { "data-surface": s.name },
      h("td", {}, h("a", { href: "/map?surface=" + encodeURIComponent(s.name) }, s.name), h("br"), h("small", {}, s.planet + " · " + s.map)),
      h("td", { class: "status " + (s.healthy ? "ok" : "attention") }, s.status),
      h("td", {}, s.node || "—", s.moving ? h("small", {}, " → " + s.moving) : null),
      h("td", {}, s.node ? "primary · " + s.epoch : "—"),
      h("td", { class: "tick" }, s.tick),
      h("td", {}, f1(s.ups)),
      h("td", { class: "spark" }, sparkline(s.ups_history || [])),
      h("td", {}, (s.spm || []).length ? s.spm.map((p) => [p.pack.replace("-science-pack", "") + " " + f1(p.per_minute) + "/min", h("br")]) : "—"),
      h("td", {}, (s.standbys || []).length ? s.standbys.map((b) => [b.node + " (" + b.lag_ticks + " ticks, " + b.state + ")" + (b.synced ? " ✓" : ""), h("br")]) : "none"),
      // A surface that runs nowhere (stopped, not placed) has nothing to move.
      h("td", { class: "actions" }, s.problem ? h("small", { class: "bad" }, s.problem) : null,
        s.node ? h("select", { "aria-label": "move " + s.name + " to" }, h("option", { value: "" }, "any node"), others.map((n) => h("option", { value: n }, n))) : null,
        s.node ? h("button", { "data-action": "move", "data-surface": s.name }, "move") : null));
  }));
}

function renderBridges() {
  const bridges = snap.bridges || [];
  fill($("#bridges tbody"), bridges.map((b) =>
    h("tr", { "data-bridge": b.id },
      h("td", {}, b.id), h("td", {}, b.from + ":" + b.from_port), h("td", {}, b.to + ":" + b.to_port),
      h("td", {}, f1(b.items_per_second)), h("td", {}, b.in_flight), h("td", {}, b.moved),
      h("td", {}, b.error || (b.connected ? "connected" : "waiting")))));
  drawGraph($("#bridge-graph"), snap.surfaces || [], bridges);
}

// graphLayout places n surface nodes of radius r, whose labels are up to labelW
// wide, on a ring: an ellipse (1.6 times as wide as tall) for a few, a circle for
// more, always sized so that neighbours are at least a node (or its label) and a
// gap apart. It returns the view's size and each node's centre.
function graphLayout(n, r, labelW) {
  const gap = 12, margin = r + 16;
  const need = Math.max(2 * r, labelW) + gap;
  const aspect = n <= 9 ? 1.6 : 1;
  const ring = (ry) => Array.from({ length: n }, (_, i) => {
    const a = -Math.PI / 2 + i * 2 * Math.PI / n;
    return [ry * aspect * Math.cos(a), ry * Math.sin(a)];
  });
  let ry = 150;
  if (n > 1) {
    // Distances grow in proportion to the ring's size: scale it up until the
    // closest neighbours are far enough apart.
    const p = ring(ry);
    let closest = Infinity;
    for (let i = 0; i < n; i++) {
      const q = p[(i + 1) % n];
      closest = Math.min(closest, Math.hypot(q[0] - p[i][0], q[1] - p[i][1]));
    }
    if (closest < need) ry *= need / closest;
  }
  const W = Math.max(800, Math.ceil(2 * (ry * aspect + margin))), H = Math.max(420, Math.ceil(2 * (ry + margin)));
  return { W, H, pos: ring(ry).map(([x, y]) => [W / 2 + x, H / 2 + y]) };
}

// drawGraph places the surfaces on a ring (graphLayout) and draws each bridge as
// an arrow, labelled with its rate and what is in flight.
function drawGraph(svg, surfaces, bridges) {
  const ns = svg.namespaceURI, r = 44;
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const label = (s) => (s.node || "—") + " · " + f1(s.ups) + " UPS";
  // About 8.5 px a character of the bold 14 px name, 7 px of the 12 px line under it.
  const labelW = Math.max(0, ...surfaces.map((s) => Math.max(8.5 * s.name.length, 7 * label(s).length)));
  const { W, H, pos: at } = graphLayout(surfaces.length, r, labelW);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  // The page's scale (900 px for 800 units) whatever the size; narrower windows shrink it.
  svg.style.maxWidth = Math.round(W * 9 / 8) + "px";
  const pos = {};
  surfaces.forEach((s, i) => { pos[s.name] = at[i]; });
  const kids = [el("defs", {})];
  kids[0].append(el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" }));
  kids[0].firstChild.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
  bridges.forEach((b) => {
    const p = pos[b.from], q = pos[b.to];
    if (!p || !q) return;
    // Offset the two directions of a pair so both arrows show.
    const dx = q[0] - p[0], dy = q[1] - p[1], len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len * 10, ny = dx / len * 10, shrink = (r + 2) / len;
    const x1 = p[0] + dx * shrink + nx, y1 = p[1] + dy * shrink + ny, x2 = q[0] - dx * shrink + nx, y2 = q[1] - dy * shrink + ny;
    const g = el("g", { class: "bridge" + (b.connected ? " up" : " down"), "data-bridge": b.id });
    g.append(el("line", { x1, y1, x2, y2, "marker-end": "url(#arrow)" }));
    const lx = (x1 + x2) / 2 + nx * 1.8, ly = (y1 + y2) / 2 + ny * 1.8;
    g.append(el("text", { x: lx, y: ly, "text-anchor": "middle" }, `${b.id}: ${f1(b.items_per_second)}/s, ${b.in_flight} in flight`));
    kids.push(g);
  });
  surfaces.forEach((s) => {
    const [x, y] = pos[s.name];
    const g = el("g", { class: "surface", "data-surface": s.name });
    g.append(el("circle", { cx: x, cy: y, r }));
    g.append(el("text", { x, y: y - 4, "text-anchor": "middle", class: "name" }, s.name));
    g.append(el("text", { x, y: y + 14, "text-anchor": "middle" }, label(s)));
    kids.push(g);
  });
  svg.replaceChildren(...kids);
}

function eventItem(e) {
  return h("li", { class: "ev " + e.class, "data-kind": e.kind, "data-index": e.index },
    h("time", {}, clock(e.unix_ms)), " ", h("b", {}, e.kind), " " + e.subject + " — " + e.message);
}

function renderEvents(one) {
  const list = $("#events");
  if (!list) return;
  if (one) {
    list.prepend(eventItem(one));
    while (list.children.length > 200) list.lastChild.remove();
    return;
  }
  list.replaceChildren(...events.slice().reverse().map(eventItem));
}

// ---- map ----
const map = { scale: 8, cx: 0, cy: 0, surface: null, tick: 0, shownTick: -1, info: null, drag: null };

async function mapOpen(surface) {
  map.surface = surface;
  map.info = null;
  $("#map-info").textContent = "loading " + surface + "…";
  try {
    const r = await fetch("/api/map/" + encodeURIComponent(surface) + "/0/info/0");
    const js = await r.json();
    if (!r.ok) throw new Error(js.error);
    map.info = js;
    map.tick = js.tick;
    const b = js.bounds;
    map.cx = (b[0] + b[2] + 1) / 2;
    map.cy = (b[1] + b[3] + 1) / 2;
    history.replaceState(null, "", "/map?surface=" + encodeURIComponent(surface));
    mapDraw(true);
  } catch (e) {
    $("#map-info").textContent = "no map of " + surface + ": " + e.message;
  }
}

// mapDraw lays out the 256-pixel tiles covering the view. With fresh set, tiles are
// reloaded for the current tick range; new images replace old ones once loaded.
function mapDraw(fresh) {
  if (!map.info) return;
  const view = $("#map"), layer = $("#map-tiles");
  const W = view.clientWidth, H = view.clientHeight, span = 256 / map.scale;
  const left = map.cx * map.scale - W / 2, top = map.cy * map.scale - H / 2;
  const tx0 = Math.floor(left / 256), ty0 = Math.floor(top / 256);
  const tx1 = Math.floor((left + W) / 256), ty1 = Math.floor((top + H) / 256);
  const power = $("#map-power").checked ? 1 : 0, items = $("#map-items").checked ? 1 : 0;
  const want = new Set();
  for (let ty = ty0; ty <= ty1; ty++) {
    for (let tx = tx0; tx <= tx1; tx++) {
      const key = `${map.scale}/${tx}/${ty}`;
      want.add(key);
      let img = layer.querySelector(`img[data-key="${key}"]`);
      const src = `/api/map/${encodeURIComponent(map.surface)}/${key}.png?tick=${map.tick}&power=${power}&items=${items}`;
      if (!img) {
        img = h("img", { "data-key": key, "data-tx": tx, "data-ty": ty, alt: "", draggable: "false" });
        layer.append(img);
        img.src = src;
      } else if (fresh && img.dataset.src !== src) {
        const next = new Image();
        next.onload = () => { img.src = src; };
        next.src = src;
      }
      img.dataset.src = src;
      img.style.left = (tx * 256 - left) + "px";
      img.style.top = (ty * 256 - top) + "px";
    }
  }
  for (const img of [...layer.children]) if (!want.has(img.dataset.key)) img.remove();
  $("#zoom").textContent = map.scale + " px/tile";
  $("#map-info").textContent = `${map.surface} at tick ${map.tick} · centre ${Math.round(map.cx)},${Math.round(map.cy)} · ${span} tiles per image`;
  map.shownTick = map.tick;
}

// mapTick follows the surface's tick from the live state and refreshes the map every
// couple of seconds of game time.
function mapTick() {
  if (!map.info || !snap) return;
  const s = (snap.surfaces || []).find((x) => x.name === map.surface);
  if (s && s.tick >= map.shownTick + 120) {
    map.tick = s.tick;
    mapDraw(true);
  }
}

function mapSetup() {
  const sel = $("#map-surface");
  const start = document.body.dataset.surface || (sel.options[0] && sel.value);
  if (start) mapOpen(start);
  sel.addEventListener("change", () => mapOpen(sel.value));
  const zoom = (dir) => {
    const i = [1, 2, 4, 8, 16].indexOf(map.scale) + dir;
    if (i < 0 || i > 4) return;
    map.scale = [1, 2, 4, 8, 16][i];
    $("#map-tiles").replaceChildren();
    mapDraw(false);
  };
  $("#zoom-in").onclick = () => zoom(1);
  $("#zoom-out").onclick = () => zoom(-1);
  $("#map-home").onclick = () => mapOpen(map.surface);
  $("#map-power").onchange = $("#map-items").onchange = () => mapDraw(true);
  const view = $("#map");
  view.addEventListener("pointerdown", (e) => { map.drag = [e.clientX, e.clientY, map.cx, map.cy]; view.setPointerCapture(e.pointerId); });
  view.addEventListener("pointermove", (e) => {
    if (!map.drag) return;
    map.cx = map.drag[2] - (e.clientX - map.drag[0]) / map.scale;
    map.cy = map.drag[3] - (e.clientY - map.drag[1]) / map.scale;
    mapDraw(false);
  });
  view.addEventListener("pointerup", () => { map.drag = null; });
  view.addEventListener("keydown", (e) => {
    const step = 64 / map.scale;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) { map.cx += moves[e.key][0]; map.cy += moves[e.key][1]; mapDraw(false); e.preventDefault(); }
    if (e.key === "+" || e.key === "=") zoom(1);
    if (e.key === "-") zoom(-1);
  });
  window.addEventListener("resize", () => mapDraw(false));
}

if (page === "map") mapSetup();
connect();
