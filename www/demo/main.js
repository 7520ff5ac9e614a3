// main.js — the demo page's forms and tables: the catalogue and the order
// form, the payment form, my orders, my stored keys and the counters bar.
// Every action is "snapshot, send, snapshot": its answer card shows what
// changed.

import { $, el, yen, api, snapshot, newKey } from "./api.js";
import { answerCard, showAnswer, setState, burstCard } from "./ui.js";
import { initLessons } from "./lessons.js";
import { showStoreLesson } from "./store-lesson.js";

let last = null;                 // the last snapshot, for the next "before"
let lastOrder = null;            // {key, body} of the last order sent
let lastPayment = null;          // the same for the payment form
const announce = (t) => { $("announce").textContent = t; };

/* ---------- tables and counters, from a snapshot ---------- */

// The tables show the newest SHORT rows until asked for all of them.
const SHORT = 10;
const showAll = { orders: false, keys: false };
function more(name, total) {
  const b = $(name + "-more");
  b.hidden = total <= SHORT;
  b.textContent = showAll[name] ? `Show the newest ${SHORT}` : `Show all ${total}`;
  b.onclick = () => { showAll[name] = !showAll[name]; (name === "keys" ? renderKeys : renderOrders)(last[name]); };
  return showAll[name] ? total : SHORT;
}

// "2026-11-26T04:10:57Z" → "04:10:57"; with date, "11-26 04:10:57".
const hhmmss = (t) => (typeof t === "string" && t.length >= 19 ? t.slice(11, 19) : t ?? "");
const mmddhh = (t) => (typeof t === "string" && t.length >= 19 ? t.slice(5, 10) + " " + t.slice(11, 19) : t ?? "");
const td = (label, value, props = {}) => el("td", { "data-label": label, ...props }, value);

function renderProducts(products) {
  const tb = $("products");
  if (!products) { tb.replaceChildren(el("tr", {}, el("td", { colSpan: 4 }, "Could not load the catalogue."))); return; }
  const prev = {};
  for (const inp of tb.querySelectorAll("input")) prev[inp.dataset.sku] = inp.value;
  tb.replaceChildren(...products.map((p, i) => {
    const inp = el("input", { type: "number", className: "qty", id: "qty-" + i, min: 0, max: 999,
      value: prev[p.sku] ?? (i === 0 ? 1 : 0) });
    inp.dataset.sku = p.sku;
    inp.oninput = renderBar;
    return el("tr", {},
      el("td", {}, el("label", { htmlFor: inp.id }, p.name), el("br"), el("code", { className: "muted" }, p.sku)),
      el("td", { className: "n" }, yen(p.price)),
      el("td", { className: "n stock" }, p.stock.toLocaleString("en-US")),
      el("td", { className: "n" }, inp));
  }));
}

function renderOrders(orders) {
  const tb = $("orders");
  $("orders-more").hidden = true;
  if (!orders) { tb.replaceChildren(el("tr", {}, el("td", { colSpan: 6 }, "Could not load orders."))); return; }
  if (!orders.length) { tb.replaceChildren(el("tr", {}, el("td", { colSpan: 6 }, "No orders yet."))); return; }
  tb.replaceChildren(...orders.slice(0, more("orders", orders.length)).map((o) => {
    const pay = o.status === "pending"
      ? el("button", { type: "button", "aria-label": "Pay order " + o.id, onclick: () => fillPayment(o, true) }, "Pay…")
      : null;
    return el("tr", {},
      td("Id", o.id, { className: "n" }), td("Status", o.status), td("Total", yen(o.total), { className: "n" }),
      td("Items", (o.items || []).map((i) => `${i.sku} ×${i.quantity}`).join(", ")),
      td("Created", hhmmss(o.created_at), { className: "mono", title: o.created_at ?? "" }), el("td", {}, pay));
  }));
}

// Columns of the keys table; recovery point and lease appear once the
// server sends them (payments are multi-step: they can stop half-way).
const KEY_COLUMNS = [
  ["Key", (k) => k.key, "mono key"], ["Operation", (k) => k.operation], ["Status", (k) => k.status],
  ["Recovery point", (k) => k.recovery_point ?? "", "", "recovery_point"],
  ["Response", (k) => k.response_status ?? "", "n"],
  ["Lease until", (k) => hhmmss(k.lease_until), "mono", "recovery_point"],
  ["Fingerprint", (k) => String(k.fingerprint ?? "").slice(0, 10) + (k.fingerprint ? "…" : ""), "mono", "fingerprint"],
  ["Created", (k) => mmddhh(k.created_at), "mono"], ["Expires", (k) => mmddhh(k.expires_at), "mono"],
];

function renderKeys(keys) {
  const tb = $("keys");
  $("keys-more").hidden = true;
  const cols = KEY_COLUMNS.filter(([, , , field]) => !field || (keys || []).some((k) => field in k));
  $("keys-head").replaceChildren(el("tr", {}, ...cols.map(([h, , cls]) => el("th", { className: cls === "n" ? "n" : "" }, h))));
  if (!keys) { tb.replaceChildren(el("tr", {}, el("td", { colSpan: cols.length }, "Could not load keys."))); return; }
  if (!keys.length) { tb.replaceChildren(el("tr", {}, el("td", { colSpan: cols.length }, "No stored keys yet."))); return; }
  tb.replaceChildren(...keys.slice(0, more("keys", keys.length)).map((k) => el("tr", { className: k.status === "processing" ? "processing" : "" },
    ...cols.map(([h, f, cls]) => td(h, f(k), { className: cls || "", title: h === "Fingerprint" ? k.fingerprint ?? "" : "" })))));
}

// The skus in the order form, for the stock counter.
function formSkus() {
  const skus = [...document.querySelectorAll("#products input")].filter((i) => Number(i.value) > 0).map((i) => i.dataset.sku);
  return skus.length ? skus : ["BISCUIT-SEMBEI"];
}

function renderBar() {
  if (!last) return;
  $("c-orders").textContent = last.orders ? last.orders.length : "?";
  $("c-keys").textContent = last.keys ? last.keys.length : "?";
  const stock = new Map((last.products || []).map((p) => [p.sku, p.stock]));
  $("c-stock").replaceChildren(...formSkus().flatMap((s, i) => [i ? ", " : "", s + " stock ",
    el("b", {}, stock.has(s) ? stock.get(s).toLocaleString("en-US") : "?")]));
}

// refresh(): a new snapshot, shown in the tables and the bar; returns it.
export async function refresh() {
  last = await snapshot();
  renderProducts(last.products);
  renderOrders(last.orders);
  renderKeys(last.keys);
  renderBar();
  return last;
}

// act(slot, send, card, skus): the snapshot before (the last one), the
// action, its card under the button, then the snapshot after in the card.
async function act(slot, send, makeCard, skus) {
  const before = last || await refresh();
  const r = await send();
  const card = makeCard(r);
  showAnswer(slot, card);
  const rs = [r].flat();
  announce(rs.length > 1 ? card.querySelector(".summary").textContent
    : `${rs[0].method} ${rs[0].path}: ${rs[0].status}${rs[0].replayed ? ", replayed" : ""}`);
  const after = await refresh();
  setState(card, before, after, skus);
  return r;
}

/* ---------- orders ---------- */

// The order body from the quantity inputs; 0 or empty leaves a product out.
function orderBody() {
  const items = [];
  for (const inp of document.querySelectorAll("#products input")) {
    const q = Number(inp.value);
    if (inp.value.trim() !== "" && q !== 0) items.push({ sku: inp.dataset.sku, quantity: Number.isFinite(q) ? q : inp.value });
  }
  return JSON.stringify({ items });
}
const bodySkus = (body) => { try { return JSON.parse(body).items.map((i) => i.sku); } catch (e) { return []; } };

function fillPayment(o, focus) {
  $("pay-order").value = o.id;
  $("pay-amount").value = o.total;
  $("pay-key").value = newKey();
  if (focus) { $("pay-sec").scrollIntoView({ block: "start" }); $("pay-send").focus(); }
}
// A new order pre-fills the payment form.
function noteOrder(r) {
  if (r.status === 201 && r.body && r.body.id != null && $("pay-order").value !== String(r.body.id)) fillPayment(r.body, false);
}

const orderNewKey = () => { $("order-key").value = newKey(); $("order-place").focus(); };

function sendOrder(key, body, x = 1) {
  lastOrder = { key, body };
  $("order-retry").disabled = false;
  const send = () => api("POST", "/orders", { key, body });
  return act($("order-answers"),
    () => (x === 1 ? send() : Promise.all(Array.from({ length: x }, send))),
    (r) => (Array.isArray(r) ? burstCard(r, { onNewKey: orderNewKey })
      : answerCard(r, { onNewKey: orderNewKey, onRetry: () => sendOrder(key, body) })),
    bodySkus(body)).then((r) => { [r].flat().forEach(noteOrder); return r; });
}

/* ---------- payments ---------- */

function paymentBody() {
  const num = (v) => (v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v);
  const b = { order_id: num($("pay-order").value), amount: num($("pay-amount").value), currency: $("pay-currency").value };
  // card is optional and tok_ok the default: a plain payment sends none.
  if ($("pay-card").value !== "tok_ok") b.card = $("pay-card").value;
  return JSON.stringify(b);
}

function sendPayment(key, body) {
  lastPayment = { key, body };
  $("pay-retry").disabled = false;
  return act($("pay-answers"), () => api("POST", "/payments/confirm", { key, body }),
    (r) => answerCard(r, {
      onNewKey: () => { $("pay-key").value = newKey(); $("pay-send").focus(); },
      onRetry: () => sendPayment(key, body),
    }));
}

/* ---------- wiring ---------- */

$("order-key").value = newKey();
$("pay-key").value = newKey();
$("order-newkey").onclick = orderNewKey;
$("pay-newkey").onclick = () => { $("pay-key").value = newKey(); };
$("order-place").onclick = () => sendOrder($("order-key").value.trim(), orderBody());
$("order-retry").onclick = () => lastOrder && sendOrder(lastOrder.key, lastOrder.body);
$("order-x5").onclick = () => sendOrder($("order-key").value.trim(), orderBody(), 5);
$("pay-send").onclick = () => sendPayment($("pay-key").value.trim(), paymentBody());
$("pay-retry").onclick = () => lastPayment && sendPayment(lastPayment.key, lastPayment.body);
$("fill-out-of-stock").onclick = () => {
  for (const inp of document.querySelectorAll("#products input")) inp.value = inp.dataset.sku === "CUP-LIMITED" ? 6 : 0;
  renderBar();
  $("order-place").focus();
};

$("user").onchange = () => {
  $("token").hidden = $("user").value !== "";
  if (!$("token").hidden) $("token").focus();
  refresh();
};
$("token").onchange = refresh;
$("show-gets").onchange = () => $("log").classList.toggle("show-own", $("show-gets").checked);

// A lesson (ONCESHOP_LESSON) is a design that fails on purpose: say so
// above everything while one is on.
api("GET", "/health", { own: true }).then((r) => {
  const lesson = r.body && r.body.lesson;
  if (!lesson) return;
  $("lesson-banner").textContent = `Lesson on: ${lesson}. The server runs a design ` +
    `that fails on purpose (README, "Where the keys live"): not how onceshop keeps keys.`;
  $("lesson-banner").hidden = false;
  showStoreLesson(lesson, { sendOrder, orderBody });
});

initLessons({ refresh, fillPayment });
refresh();
