// api.js — every request the demo page sends goes through api(): the
// chosen user's token, the Idempotency-Key, timings, and one line in the
// request log. snapshot() reads the counters (orders, stock, stored keys)
// that an answer card shows before and after its action.

export const $ = (id) => document.getElementById(id);

// el("td", {className: "n"}, "text", node): children are text or nodes,
// never HTML.
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function yen(n) {
  return typeof n === "number" ? "¥" + n.toLocaleString("en-US") : String(n ?? "");
}

// crypto.randomUUID() needs a secure context (https or localhost).
function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
// A key is an RFC 8941 string (the server lists it without the quotes).
export const newKey = () => '"' + uuid() + '"';

export function token() {
  return $("user").value || $("token").value.trim();
}

// The demo secret of paysim's one merchant (README: for local demos only),
// to read the provider's ledger.
export const PAYSIM_SECRET = "paysim-secret";

let seq = 0;
const t0 = performance.now();

// api(METHOD, PATH, {body, key, own, auth}) sends one request and resolves
// to what came back: {status, ok, replayed, problem, body (parsed JSON or
// null), text, location, retryAfter, sentAt, answeredAt, ms, ...}. It never
// throws: a network failure is status 0. own marks the page's own GETs
// (counters, tables), which the log hides unless asked.
export async function api(method, path, { body, key, own = false, auth } = {}) {
  const r = { n: ++seq, method, path, key, reqBody: body, own, status: 0 };
  const headers = {};
  const t = auth ?? token();
  if (t) headers.Authorization = "Bearer " + t;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  r.sentAt = performance.now();
  try {
    const res = await fetch(path, { method, headers, body, cache: "no-store" });
    r.text = await res.text();
    r.status = res.status;
    r.statusText = res.statusText;
    r.replayed = (res.headers.get("Idempotent-Replayed") || "").trim().toLowerCase() === "true";
    r.location = res.headers.get("Location");
    r.retryAfter = res.headers.get("Retry-After");
    r.problem = (res.headers.get("Content-Type") || "").startsWith("application/problem+json");
    try { r.body = r.text ? JSON.parse(r.text) : null; } catch (e) { r.body = null; }
  } catch (err) {
    r.error = String(err);
    r.body = null;
  }
  r.answeredAt = performance.now();
  r.ms = r.answeredAt - r.sentAt;
  r.ok = r.status >= 200 && r.status < 300;
  logRequest(r);
  return r;
}

// The problem type's name ("out-of-stock") of an answer, or "".
export function problemName(r) {
  const t = r.problem && r.body && typeof r.body.type === "string" ? r.body.type : "";
  return t.startsWith("/problems/") ? t.slice("/problems/".length) : t;
}

function logRequest(r) {
  const log = $("log");
  if (!log) return;
  const li = el("li", { className: "s" + String(r.status)[0] + (r.own ? " own" : "") },
    el("span", { className: "muted" }, "#" + r.n + " " + ((r.sentAt - t0) / 1000).toFixed(1) + " s"),
    " ", el("b", {}, r.method), " ", el("code", {}, r.path), " ",
    el("b", {}, r.status || "network error"),
    r.replayed ? el("span", { className: "badge replayed" }, "replayed") : null,
    problemName(r) ? el("span", { className: "muted" }, problemName(r)) : null,
    r.key ? el("code", { className: "muted" }, "key " + r.key) : null,
    el("span", { className: "muted" }, Math.round(r.ms) + " ms"));
  log.prepend(li);
  while (log.children.length > 300) log.lastChild.remove();
}

// snapshot() reads the caller's orders, the catalogue and the stored keys,
// all three at once, as the page's own GETs: {orders, products, keys}, each
// an array, or null where the read failed.
export async function snapshot() {
  const [o, p, k] = await Promise.all([
    api("GET", "/orders?limit=1000", { own: true }),
    api("GET", "/products", { own: true }),
    api("GET", "/idempotency-keys?limit=1000", { own: true }),
  ]);
  const list = (r, name) => (r.ok && r.body && Array.isArray(r.body[name]) ? r.body[name] : null);
  return { orders: list(o, "orders"), products: list(p, "products"), keys: list(k, "idempotency_keys") };
}

// The stock of each sku in a snapshot, as a Map.
export function stockOf(s) {
  return new Map((s && s.products ? s.products : []).map((p) => [p.sku, p.stock]));
}
