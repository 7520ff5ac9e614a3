// lessons.js — the payment lessons, one button each: a slow provider and a
// second click, an answer lost on the way back, a declined card, and a
// payment that the server's completer finishes while nobody retries. Each
// orders one pack of sembei, then pays for it through paysim with a test
// card, and shows its requests as numbered steps.

import { $, el, api, sleep, newKey, problemName, PAYSIM_SECRET } from "./api.js";
import { steps, stateLine } from "./ui.js";

let ctx = null;                  // {refresh, fillPayment} from main.js

// How long after the first click the second one comes (the slow card
// answers after PAYSIM_SLOW_MS, 2 s by default).
const SECOND_CLICK_MS = 300;

const notFinished = (r) => r.status === 0 || r.status >= 500 || problemName(r) === "idempotency-key-in-progress";
const ref = (payment) => payment.provider_reference ?? "payment-" + payment.id;

function payBody(order, card) {
  return JSON.stringify({ order_id: order.id, amount: order.total, currency: "JPY", card });
}

// send(S, label, key, body, note): one POST /payments/confirm as a step.
async function send(S, label, key, body, note) {
  const s = S.add(label);
  const r = await api("POST", "/payments/confirm", { key, body });
  s.done(r, note ? note(r) : "");
  return r;
}

async function newOrder(S) {
  const s = S.add("Order 1 × BISCUIT-SEMBEI (new key)");
  const r = await api("POST", "/orders", {
    key: newKey(), body: JSON.stringify({ items: [{ sku: "BISCUIT-SEMBEI", quantity: 1 }] }),
  });
  s.done(r);
  if (r.status !== 201) throw new Error("the order was not created");
  return r.body;
}

// retry(S, key, body, capS): retries with the same key while the answer
// says "not finished" (409 in progress, 5xx, no answer), each time after
// Retry-After seconds, at most capS here so the lesson stays short.
async function retry(S, r, key, body, capS, note) {
  for (let i = 0; i < 30 && notFinished(r); i++) {
    const wait = Math.min(Number(r.retryAfter) || 1, capS);
    await sleep(wait * 1000);
    r = await send(S, `Retry after ${wait} s, same key`, key, body, note);
  }
  return r;
}

// The provider's ledger for a payment: how a learner counts the charges.
async function ledger(S, reference) {
  const s = S.add(`The provider's ledger: GET /paysim/v1/charges?reference=${reference}`);
  const r = await api("GET", "/paysim/v1/charges?reference=" + encodeURIComponent(reference), { auth: PAYSIM_SECRET });
  const n = r.ok && r.body && Array.isArray(r.body.charges) ? r.body.charges.length : null;
  s.done(r, n === 1 ? "exactly one charge" : n === null ? "" : `${n} charges`);
  return n;
}

// showState(S, out, after): the counters before the lesson and AFTER, last in OUT.
function showState(S, out, after) {
  out.querySelector(":scope > .state")?.remove();
  out.append(el("p", { className: "state muted" }, "before → after: ", ...stateLine(S.before, after, ["BISCUIT-SEMBEI"])));
}

// lesson(id, run): the button of lesson ID runs run(S), S being its steps.
function lesson(id, run) {
  const box = $(id), button = box.querySelector("button.primary"), out = box.querySelector(".steps-box");
  button.onclick = async () => {
    button.disabled = true;
    box.classList.add("running");
    const S = steps(out);
    S.before = await ctx.refresh();
    try {
      await run(S, out);
    } catch (e) {
      S.conclude("Stopped: " + e.message, "bad");
    } finally {
      button.disabled = false;
      box.classList.remove("running");
      showState(S, out, await ctx.refresh());
    }
  };
}

async function slow(S) {
  const order = await newOrder(S);
  const key = newKey(), body = payBody(order, "tok_slow");
  const s1 = S.add("1st click: pay with tok_slow (the provider takes its time)");
  const first = api("POST", "/payments/confirm", { key, body }).then((r) => { s1.done(r, "the 1st click's own answer"); return r; });
  await sleep(SECOND_CLICK_MS);
  let r = await send(S, "2nd click, same key, while the 1st is at the provider", key, body,
    (a) => (problemName(a) === "idempotency-key-in-progress" ? "nothing was done twice" : ""));
  const sawInProgress = problemName(r) === "idempotency-key-in-progress";
  r = await retry(S, r, key, body, 1, (a) => (a.replayed && a.ok ? "the 1st click's answer, stored under the key" : ""));
  const r1 = await first;
  const n = r.ok ? await ledger(S, ref(r.body)) : null;
  S.conclude(sawInProgress && r.ok && r1.ok && n === 1
    ? "Two clicks, one payment, one charge: the 2nd click was told to wait (409), and its retry got the 1st click's 201."
    : "Not the usual course: look at the steps above.", sawInProgress && r.ok ? "good" : "bad");
}

async function lost(S) {
  const order = await newOrder(S);
  const key = newKey(), body = payBody(order, "tok_lost");
  const r1 = await send(S, "Pay with tok_lost: the provider charges, but its answer comes too late", key, body,
    (a) => (a.status >= 500 ? "the shop gave up waiting: was the card charged? It cannot know yet" : ""));
  const r = await retry(S, r1, key, body, 5, (a) => (!a.ok ? ""
    : a.replayed ? "already finished by the server's completer once the lease ran out: its stored answer"
    : "this retry resumed the payment: the shop asked the provider again, with the same provider key"));
  const n = r.ok ? await ledger(S, ref(r.body)) : null;
  S.conclude(r1.status >= 500 && r.ok && n === 1
    ? "The answer was lost, the retry with the same key got the payment, and the provider charged once."
    : "Not the usual course: look at the steps above.", r.ok && n === 1 ? "good" : "bad");
}

async function declined(S, out) {
  const order = await newOrder(S);
  const key = newKey();
  const r1 = await send(S, "Pay with tok_declined", key, payBody(order, "tok_declined"));
  if (r1.status !== 402) { S.conclude("Expected 402 payment-declined: look at the steps above.", "bad"); return; }
  await send(S, "Retry, same key", key, payBody(order, "tok_declined"),
    (a) => (a.replayed ? "the decline is stored: the same key gets the same answer" : ""));
  const again = el("button", { type: "button", className: "again" }, "Pay with another card (new key)");
  again.onclick = async () => {
    again.disabled = true;
    const r = await send(S, "Another card, tok_ok, with a new key", newKey(), payBody(order, "tok_ok"));
    again.remove();
    S.conclude(r.ok ? "A new card is a new request, so it had a new key: paid."
      : "Not the usual course: look at the steps above.", r.ok ? "good" : "bad");
    showState(S, out, await ctx.refresh());
  };
  S.conclude(["The decline is stored under that key. ", again]);
}

async function completer(S) {
  const order = await newOrder(S);
  const key = newKey();
  const r1 = await send(S, "Pay with tok_lost, and do not retry", key, payBody(order, "tok_lost"),
    (a) => (a.status >= 500 ? "the page will not retry" : ""));
  let id = r1.body && r1.body.payment_id;
  if (id == null && r1.ok) id = r1.body.id;
  if (id == null) {
    const o = await api("GET", "/orders/" + order.id, { own: true });
    id = o.body && o.body.payment_id;
  }
  if (id == null) { S.conclude("The answer named no payment id: cannot watch it.", "bad"); return; }
  const s = S.add(`Watch GET /payments/${id}, once a second`);
  const chips = [];
  let status = "pending";
  const t0 = performance.now();
  for (let i = 0; i < 90 && status === "pending"; i++) {
    const p = await api("GET", "/payments/" + id, { own: true });
    status = p.ok && p.body ? p.body.status : `${p.status}`;
    const sec = Math.round((performance.now() - t0) / 1000);
    chips.push(el("span", { className: "poll " + status }, `${sec} s ${status}`));
    s.text(chips.slice(-12), status === "succeeded" ? "s2" : "");
    await ctx.refresh();
    if (status === "pending") await sleep(1000);
  }
  S.conclude(status === "succeeded"
    ? "Nobody retried, and the payment succeeded: when the key's lease ran out, the server's completer resumed it and asked the provider itself."
    : `The payment is ${status}.`, status === "succeeded" ? "good" : "bad");
}

export function initLessons(c) {
  ctx = c;
  lesson("lesson-slow", slow);
  lesson("lesson-lost", lost);
  lesson("lesson-declined", declined);
  lesson("lesson-completer", completer);
}
