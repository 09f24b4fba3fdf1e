// edgewaf dashboard: plain JS, no library. Data from the admin API with the
// session cookie; changes carry the x-edgewaf-csrf header. Event data is put
// in the page with textContent only (paths and IPs come from attackers).
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let me = null;

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (opts.method && opts.method !== "GET") opts.headers["x-edgewaf-csrf"] = "1";
  const resp = await fetch(path, opts);
  if (resp.status === 401) { location.href = "/login"; throw new Error("signed out"); }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  setTimeout(() => { t.hidden = true; }, 4000);
}

function range() {
  const to = Date.now() + 1;
  return { from: to - Number($("range").value), to };
}

function query(extra) {
  const r = range();
  const p = new URLSearchParams({ from: r.from, to: r.to });
  if ($("tenant").value) p.set("tenant", $("tenant").value);
  for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
  return p.toString();
}

function fmtTime(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19); }

function drawSeries(o) {
  const svg = $("chart-series");
  svg.replaceChildren();
  const r = range();
  const W = 800, H = 200, pad = 24;
  const max = Math.max(1, ...o.series.map((b) => b.requests));
  const x = (t) => pad + ((t - r.from) / (r.to - r.from)) * (W - 2 * pad);
  const y = (v) => H - pad - (v / max) * (H - 2 * pad);
  const bw = Math.max(2, ((o.bucket_ms / (r.to - r.from)) * (W - 2 * pad)) / 2 - 1);
  svg.appendChild(svgEl("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#999" }));
  svg.appendChild(svgEl("text", { x: 2, y: pad, "font-size": 10 }, String(max)));
  svg.appendChild(svgEl("text", { x: pad, y: H - 6, "font-size": 10 }, fmtTime(r.from)));
  svg.appendChild(svgEl("text", { x: W - pad, y: H - 6, "font-size": 10, "text-anchor": "end" }, fmtTime(r.to)));
  for (const b of o.series) {
    const bx = x(b.t);
    svg.appendChild(svgEl("rect", { x: bx, y: y(b.requests), width: bw, height: H - pad - y(b.requests), fill: "var(--req)" }));
    svg.appendChild(svgEl("rect", { x: bx + bw, y: y(b.blocked), width: bw, height: H - pad - y(b.blocked), fill: "var(--blk)", class: "blocked-bar" }));
  }
  for (const v of o.versions) {
    if (v.ts_ms < r.from) continue;
    const vx = x(v.ts_ms);
    const line = svgEl("line", { x1: vx, y1: pad, x2: vx, y2: H - pad, stroke: "var(--ver)", "stroke-dasharray": "4 3" });
    line.appendChild(svgEl("title", {}, v.tenant + " " + v.version + " (" + v.mode + ") " + fmtTime(v.ts_ms)));
    svg.appendChild(line);
  }
}

function drawRules(rules) {
  const svg = $("chart-rules");
  svg.replaceChildren();
  const max = Math.max(1, ...rules.map((r) => r.count));
  rules.slice(0, 10).forEach((r, i) => {
    const y = 4 + i * 21;
    const w = (r.count / max) * 220;
    const g = svgEl("g", { class: "rule-bar", "data-rule": r.key });
    g.appendChild(svgEl("text", { x: 0, y: y + 13, "font-size": 11 }, r.key));
    g.appendChild(svgEl("rect", { x: 120, y, width: Math.max(w, 1), height: 16, fill: "var(--blk)" }));
    g.appendChild(svgEl("text", { x: 124 + w, y: y + 13, "font-size": 11 }, r.count + " " + (r.class || "")));
    g.addEventListener("click", () => { $("q-rule").value = r.key; searchEvents(); });
    svg.appendChild(g);
  });
  if (!rules.length) svg.appendChild(svgEl("text", { x: 0, y: 16, "font-size": 12 }, "no findings in this range"));
}

function fillTable(id, rows, cells) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  for (const row of rows) {
    const tr = el("tr");
    for (const c of cells(row)) tr.appendChild(c instanceof Node ? wrapTd(c) : el("td", c));
    body.appendChild(tr);
  }
}

function wrapTd(node) { const td = el("td"); td.appendChild(node); return td; }

function blockButton(ip) {
  const b = el("button", "Block", "block");
  b.type = "button";
  b.dataset.ip = ip;
  b.addEventListener("click", (e) => { e.stopPropagation(); askBlock(ip); });
  if (me && me.scope !== "admin") b.disabled = true;
  return b;
}

async function loadOverview() {
  const o = await api("/api/analytics/overview?" + query());
  $("stat-requests").textContent = o.requests;
  $("stat-blocked").textContent = o.blocked;
  $("stat-latency").textContent = o.latency_us.slice(0, 3).map((u) => (u / 1000).toFixed(2)).join(" / ") + " ms";
  $("stat-dropped").textContent = o.dropped;
  drawSeries(o);
  drawRules(o.top_rules);
  fillTable("top-ips", o.top_ips, (r) => [r.key, r.count, blockButton(r.key)]);
  fillTable("top-countries", o.top_countries, (r) => [r.key, r.count]);
  fillTable("top-paths", o.top_paths, (r) => [r.key, r.count]);
  fillTable("classes", o.classes, (r) => [r.key, r.count]);
  fillTable("versions", o.versions, (v) => [fmtTime(v.ts_ms), v.tenant, v.version, v.mode,
    (v.policies || []).map((p) => p.name + (p.rule_sets.length ? " (" + p.rule_sets.join(", ") + ")" : "")).join(" → ")]);
}

function localToMs(id) { const v = $(id).value; return v ? String(new Date(v).getTime()) : ""; }

async function searchEvents() {
  const extra = { rule: $("q-rule").value.trim(), ip: $("q-ip").value.trim(), request_id: $("q-request").value.trim(),
    blocked: $("q-blocked").checked ? "1" : "", limit: "200" };
  let q = query(extra);
  const p = new URLSearchParams(q);
  if (localToMs("q-from")) p.set("from", localToMs("q-from"));
  if (localToMs("q-to")) p.set("to", localToMs("q-to"));
  q = p.toString();
  const r = await api("/api/analytics/events?" + q);
  fillTable("events", r.events, (e) => [e.ts.replace("T", " ").slice(0, 23), e.tenant, e.client_ip,
    e.method + " " + e.path, e.action + " " + e.status, (e.rule_ids || []).join(" "), e.class, e.eval_us, blockButton(e.client_ip)]);
  const rows = $("events").querySelectorAll("tbody tr");
  r.events.forEach((e, i) => {
    rows[i].dataset.requestId = e.request_id;
    rows[i].addEventListener("click", () => {
      const d = $("event-detail");
      d.textContent = JSON.stringify(e, null, 2);
      d.hidden = false;
    });
  });
}

function askBlock(ip) {
  $("confirm-text").textContent = "Block " + ip + "? Its next request is denied by every tenant whose ip-filter reads this list.";
  $("confirm").dataset.ip = ip;
  $("confirm").hidden = false;
}

async function confirmBlock() {
  const ip = $("confirm").dataset.ip;
  const list = $("confirm-list").value.trim() || "blocklist";
  const ttl = $("confirm-ttl").value;
  const entry = { cidr: ip, comment: "blocked from the dashboard by " + (me ? me.name : "?") };
  if (ttl) entry.ttl_secs = Number(ttl);
  $("confirm").hidden = true;
  try {
    await api("/api/lists/" + encodeURIComponent(list) + "/entries", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(entry) });
    toast("Blocked " + ip + " (list " + list + ")");
    document.body.dataset.blocked = ip;
  } catch (e) { toast("Not blocked: " + e.message); }
}

function updateReportLink() {
  const t = $("tenant").value;
  const link = $("report-link");
  if (!t) { link.removeAttribute("href"); link.title = "pick a tenant"; return; }
  const to = Date.now() + 1;
  link.href = "/api/reports/compliance?" + new URLSearchParams({ tenant: t, from: to - 86400000, to, format: "html" });
}

async function refresh() {
  updateReportLink();
  try { await loadOverview(); await searchEvents(); document.body.dataset.loaded = String(Date.now()); }
  catch (e) { toast(e.message); }
}

async function start() {
  me = await api("/api/whoami");
  $("whoami").textContent = me.name + " (" + me.scope + ")";
  const tenants = await api("/api/tenants");
  for (const t of tenants.tenants) { const o = el("option", t.name); o.value = t.name; $("tenant").appendChild(o); }
  if (me.tenant) { $("tenant").value = me.tenant; $("tenant").disabled = true; }
  $("tenant").addEventListener("change", refresh);
  $("range").addEventListener("change", refresh);
  $("refresh").addEventListener("click", refresh);
  $("search").addEventListener("submit", (e) => { e.preventDefault(); searchEvents().catch((x) => toast(x.message)); });
  $("confirm-yes").addEventListener("click", confirmBlock);
  $("confirm-no").addEventListener("click", () => { $("confirm").hidden = true; });
  $("logout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", headers: { "x-edgewaf-csrf": "1" }, credentials: "same-origin" });
    location.href = "/login";
  });
  await refresh();
  setInterval(refresh, 15000);
}

start().catch((e) => toast(e.message));
