// ui.js — what an answer looks like where the learner clicked: the answer
// card (status, replayed or not, what it means, what to do next), the
// counters before and after, the timeline of a burst, and the steps of a
// lesson.

import { el, yen, problemName, stockOf } from "./api.js";

const REASONS = {
  0: "network error", 200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
  402: "Payment Required", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
  413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout", 507: "Insufficient Storage",
};
export const statusLabel = (r) => (r.status ? r.status + " " : "") + (REASONS[r.status] || r.statusText || "");

// Refusals made before the handler ran: the key was not used, so a
// corrected request may keep it (README, "Not remembered").
const NOT_STORED = new Set(["idempotency-key-missing", "idempotency-key-invalid", "invalid-json",
  "invalid-body", "invalid-parameter", "unauthorized", "not-found", "method-not-allowed",
  "payload-too-large", "unsupported-media-type", "idempotency-key-in-progress", "idempotency-key-reused"]);

// What an answer means for the key, and what to do next: {kind, text}.
export function advice(r) {
  const name = problemName(r);
  if (r.status === 0) return { kind: "retry", text: "No answer reached the page. Whether the server did it is unknown: retry with the same key, and it is done at most once." };
  if (name === "idempotency-key-reused") return { kind: "newkey", text: "This key already stands for a different request; nothing was written. A changed request needs a new key." };
  if (name === "idempotency-key-in-progress") return { kind: "retry", text: `The first request with this key is still being worked on, so this copy did nothing. Retry with the same key${r.retryAfter ? " after " + r.retryAfter + " s (Retry-After)" : ""}.` };
  if (r.status >= 500) return { kind: "retry", text: "Not stored under the key: retry with the same key, and the server resumes or redoes it — never twice." };
  if (r.status >= 400 && !NOT_STORED.has(name) && r.method === "POST")
    return { kind: "newkey", text: "Stored under this key: sending the key again replays this answer, even with a corrected body. A corrected request needs a new key." };
  if (r.status >= 400 && r.method === "POST") return { kind: "fix", text: "Refused before the key was used: correct the request and send it again, with the same key or a new one." };
  if (r.replayed) return { kind: "", text: "Replayed from the stored answer: nothing was done a second time." };
  return null;
}

// One line that says what the body is: an order, a payment, a ledger, a problem.
export function describe(r) {
  const b = r.body;
  if (!b || typeof b !== "object") return r.text ? r.text.slice(0, 200) : "";
  if (r.problem) return null;
  if (Array.isArray(b.charges)) {
    return `${b.charges.length} charge${b.charges.length === 1 ? "" : "s"}` +
      (b.charges.length ? ": " + b.charges.map((c) => `${c.id} ${yen(c.amount)} ${c.card ?? ""}`.trim()).join(", ") : "");
  }
  if (Array.isArray(b.items) && "total" in b) {
    return `Order #${b.id} · ${b.status} · ${yen(b.total)} — ` + b.items.map((i) => `${i.sku} ×${i.quantity}`).join(", ");
  }
  if ("order_id" in b && "amount" in b) {
    return `Payment #${b.id} for order #${b.order_id} · ${b.status} · ${yen(b.amount)}` +
      (b.card ? " · " + b.card : "") + (b.provider_charge_id ? " · charge " + b.provider_charge_id : "");
  }
  return null;
}

function safeHref(type) {
  try {
    const u = new URL(type, location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch (e) { return null; }
}

function problemLine(r) {
  const p = r.body, href = safeHref(p.type || "");
  return el("p", { className: "problem" },
    el("strong", {}, p.title || "Problem"), p.detail ? " — " + p.detail : "", " ",
    href ? el("a", { href, target: "_blank", rel: "noopener" }, problemName(r) || p.type) : null);
}

// answerCard(r, {title, onNewKey, onRetry}): the card for one answer.
// onNewKey and onRetry, when given, become the buttons its advice offers.
export function answerCard(r, { title, onNewKey, onRetry } = {}) {
  const card = el("article", { className: "answer s" + String(r.status)[0] + (r.replayed ? " replayed" : "") });
  card.append(el("div", { className: "head" },
    el("span", { className: "chip s" + String(r.status)[0] }, statusLabel(r)),
    r.method === "POST" ? el("span", { className: "badge " + (r.replayed ? "replayed" : "fresh") }, r.replayed ? "replayed" : "new answer") : null,
    el("span", { className: "what" }, title || `${r.method} ${r.path}`),
    el("span", { className: "muted" }, Math.round(r.ms) + " ms")));
  if (r.key) card.append(el("div", { className: "kv" }, "Idempotency-Key: ", el("code", {}, r.key)));
  const d = describe(r);
  if (d) card.append(el("p", { className: "desc" }, d));
  if (r.problem && r.body) card.append(problemLine(r));
  if (r.error) card.append(el("p", { className: "problem" }, el("strong", {}, r.error)));
  for (const [name, v] of [["Location", r.location], ["Retry-After", r.retryAfter]]) {
    if (v) card.append(el("div", { className: "kv" }, name + ": ", el("code", {}, v)));
  }
  const a = advice(r);
  if (a) {
    const box = el("div", { className: "advice " + a.kind }, el("span", {}, a.text));
    if (a.kind === "newkey" && onNewKey) box.append(el("button", { type: "button", className: "newkey", onclick: onNewKey }, "New key"));
    if (a.kind === "retry" && onRetry) box.append(el("button", { type: "button", className: "retry", onclick: onRetry }, "Retry with the same key"));
    card.append(box);
  }
  card.append(el("p", { className: "state muted" }, "counters: reading…"));
  if (r.reqBody !== undefined) card.append(el("details", {}, el("summary", {}, "request body"), el("pre", {}, r.reqBody)));
  if (r.text !== undefined) {
    const pretty = r.body !== null ? JSON.stringify(r.body, null, 2) : r.text;
    card.append(el("details", {}, el("summary", {}, "response body"), el("pre", {}, pretty || "(empty)")));
  }
  return card;
}

// The counters that changed between two snapshots, as nodes for a card's
// state line; skus are the products to show even when their stock did not move.
export function stateLine(before, after, skus = []) {
  const parts = [];
  const pair = (label, a, b) => el("span", { className: "pair" + (a !== b ? " changed" : "") },
    label + " ", el("b", {}, a ?? "?"), " → ", el("b", {}, b ?? "?"));
  parts.push(pair("orders", before.orders?.length, after.orders?.length));
  const sb = stockOf(before), sa = stockOf(after);
  const show = new Set(skus);
  for (const [sku, n] of sa) if (sb.get(sku) !== n) show.add(sku);
  for (const sku of show) parts.push(pair(sku + " stock", sb.get(sku), sa.get(sku)));
  parts.push(pair("stored keys", before.keys?.length, after.keys?.length));
  return parts;
}

export function setState(card, before, after, skus) {
  const line = card.querySelector(".state");
  if (line) line.replaceChildren("before → after: ", ...stateLine(before, after, skus));
}

// showAnswer(slot, card): the new card first, the previous ones folded
// under "Earlier answers"; scrolled into view if it is not.
export function showAnswer(slot, card) {
  let earlier = slot.querySelector(":scope > details.earlier");
  if (!earlier) {
    earlier = el("details", { className: "earlier" }, el("summary", {}, "Earlier answers"), el("div", {}));
    slot.append(earlier);
  }
  const list = earlier.lastChild;
  for (const old of slot.querySelectorAll(":scope > .answer")) list.prepend(old);
  while (list.children.length > 10) list.lastChild.remove();
  earlier.hidden = list.children.length === 0;
  earlier.firstChild.textContent = `Earlier answers (${list.children.length})`;
  slot.prepend(card);
  card.scrollIntoView({ block: "nearest" });
}

// The summary of a burst: "5 sent → 1 created, 4 replayed, 0 errors".
export function burstSummary(rs) {
  const replayed = rs.filter((r) => r.replayed).length;
  const created = rs.filter((r) => !r.replayed && r.status === 201).length;
  const errors = rs.length - replayed - created;
  return `${rs.length} sent → ${created} created, ${replayed} replayed, ${errors} error${errors === 1 ? "" : "s"}`;
}

// burstCard(rs): the copies of one request sent at once, each as a bar from
// sent to answered on one time scale, with its status and whether it was
// a replay; the first copy's answer card follows.
export function burstCard(rs, opts) {
  const start = Math.min(...rs.map((r) => r.sentAt));
  const end = Math.max(...rs.map((r) => r.answeredAt));
  const span = Math.max(end - start, 1);
  const card = el("article", { className: "answer burst" + (rs.every((r) => r.ok) ? " s2" : " s4") });
  card.append(el("div", { className: "head" },
    el("span", { className: "chip s2" }, "×" + rs.length),
    el("span", { className: "what" }, `POST /orders, ${rs.length} copies, one key`),
    el("span", { className: "muted" }, Math.round(span) + " ms")));
  card.append(el("p", { className: "summary" }, burstSummary(rs)));
  if (rs[0].key) card.append(el("div", { className: "kv" }, "Idempotency-Key: ", el("code", {}, rs[0].key)));
  const tl = el("ol", { className: "timeline", "aria-label": "timeline of the copies" });
  rs.forEach((r, i) => {
    const left = ((r.sentAt - start) / span) * 100, width = Math.max(((r.answeredAt - r.sentAt) / span) * 100, 1);
    const outcome = r.replayed ? "replayed" : r.status === 201 ? "created" : "error";
    tl.append(el("li", { className: outcome },
      el("span", { className: "who" }, "copy " + (i + 1)),
      el("span", { className: "track" }, el("span", { className: "span", style: `left:${left}%;width:${width}%` })),
      el("span", { className: "out" }, `${r.status || "—"} ${outcome}`),
      el("span", { className: "muted when" }, `sent +${Math.round(r.sentAt - start)} ms, answered +${Math.round(r.answeredAt - start)} ms`)));
  });
  card.append(tl);
  const a = rs.find((r) => !r.replayed) || rs[0];
  const ad = advice(a);
  if (ad && ad.kind === "newkey" && opts && opts.onNewKey) {
    card.append(el("div", { className: "advice newkey" }, el("span", {}, ad.text),
      el("button", { type: "button", className: "newkey", onclick: opts.onNewKey }, "New key")));
  }
  const d = a.body ? describe(a) : null;
  if (d) card.append(el("p", { className: "desc" }, d));
  else if (a.problem && a.body) card.append(problemLine(a));
  card.append(el("p", { className: "state muted" }, "counters: reading…"));
  return card;
}

// A lesson's steps: steps(box).add(label) → a step that shows a running
// clock until done(r, note) gives it the answer.
export function steps(box) {
  const ol = el("ol", { className: "steps" });
  box.replaceChildren(ol);
  const t0 = performance.now();
  const details = new Set();     // problem details shown once per lesson
  return {
    t0,
    list: ol,
    add(label) {
      const li = el("li", { className: "step pending" },
        el("span", { className: "t muted" }, "+" + ((performance.now() - t0) / 1000).toFixed(1) + " s"),
        el("span", { className: "label" }, label),
        el("span", { className: "result muted" }, "…"));
      ol.append(li);
      const started = performance.now();
      const timer = setInterval(() => {
        li.querySelector(".result").textContent = "waiting " + ((performance.now() - started) / 1000).toFixed(1) + " s…";
      }, 200);
      li.scrollIntoView({ block: "nearest" });
      return {
        li,
        done(r, note) {
          clearInterval(timer);
          li.className = "step s" + String(r.status)[0] + (r.replayed ? " replayed" : "");
          const res = li.querySelector(".result");
          res.className = "result";
          res.replaceChildren(...[el("span", { className: "chip s" + String(r.status)[0] }, statusLabel(r)),
            r.replayed ? el("span", { className: "badge replayed" }, "replayed") : null,
            problemName(r) ? el("code", {}, problemName(r)) : null,
            r.retryAfter ? el("span", { className: "muted" }, "Retry-After: " + r.retryAfter) : null,
            describe(r) ? el("span", { className: "desc" }, describe(r)) : null,
            r.ms >= 500 ? el("span", { className: "muted" }, `after ${(r.ms / 1000).toFixed(1)} s`) : null,
            note ? el("span", { className: "note" }, note) : null,
            r.problem && r.body && r.body.detail && !details.has(r.body.detail)
              ? el("span", { className: "detail muted" }, r.body.detail) : null,
          ].filter(Boolean));
          if (r.problem && r.body) details.add(r.body.detail);
          li.scrollIntoView({ block: "nearest" });
        },
        text(t, cls = "") {
          clearInterval(timer);
          li.className = "step " + cls;
          const res = li.querySelector(".result");
          res.className = "result";
          res.replaceChildren(...[t].flat());
        },
      };
    },
    // A closing sentence under the steps.
    conclude(text, cls = "") {
      box.append(el("p", { className: "conclusion " + cls }, ...[text].flat()));
    },
  };
}
