// tests/browser/demo.mjs — clicks through the demo page (www/index.html) in
// headless chromium, as a learner would, and prints one "ok - …" or
// "not ok - …" line per check (tests/browser.t numbers them as TAP).
//
//   node tests/browser/demo.mjs BASE SHOTS_DIR
//
// puppeteer-core, not puppeteer: it downloads no browser of its own and
// drives Debian's /usr/bin/chromium (CHROMIUM overrides it), which the
// Makefile installs like every other package. Only BASE (a loopback URL
// that tests/lib.sh started) is ever contacted.

import puppeteer from "puppeteer-core";
import { mkdirSync } from "node:fs";

const [BASE, SHOTS] = process.argv.slice(2);
mkdirSync(SHOTS, { recursive: true });

let failed = 0;
function ok(cond, desc, ...diag) {
  console.log(`${cond ? "ok" : "not ok"} - ${desc}`);
  if (!cond) { failed++; for (const d of diag) console.log("# " + String(d).replace(/\n/g, "\n# ")); }
}

async function apiGet(path) {
  const r = await fetch(BASE + path, { headers: { Authorization: "Bearer alice-token" } });
  return r.json();
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // --no-sandbox: chromium refuses to start as root with its sandbox, and
  // make test runs as root in CI.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  // The API's 4xx are the lesson, and chromium logs each as a failed load:
  // only the page's own files must load.
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource: the server responded/.test(m.text())) errors.push("console: " + m.text());
  });
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400 && /^\/($|index\.html|demo\/)/.test(path)) errors.push(`${r.status()} for ${path}`);
  });
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(BASE + "/", { waitUntil: "networkidle0" });
  await page.waitForSelector("#products input");

  // The text of an element, "" if absent.
  const text = (sel) => page.$eval(sel, (e) => e.textContent.replace(/\s+/g, " ").trim()).catch(() => "");
  // Waits until the newest answer in SLOT has its counters after.
  const settled = (slot) => page.waitForFunction((s) => {
    const c = document.querySelector(s + " > .answer .state");
    return c && !c.textContent.includes("reading");
  }, {}, slot);
  // Is the top of the newest answer of SLOT within the window?
  const inView = (slot) => page.$eval(slot + " > .answer", (e) => {
    const r = e.getBoundingClientRect();
    return r.top >= 0 && r.top < innerHeight - 40;
  });
  const noOverflow = () => page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);

  ok(await text("#c-orders") === "0", "the page loads: alice has 0 orders in the counters bar");

  // --- Double-click ×5: one order ---
  await page.click("#order-x5");
  await page.waitForSelector("#order-answers > .answer.burst");
  await settled("#order-answers");
  const summary = await text("#order-answers > .answer .summary");
  ok(summary === "5 sent → 1 created, 4 replayed, 0 errors", "double-click ×5: the summary says 1 created, 4 replayed", `got: ${summary}`);
  const copies = await page.$$eval("#order-answers > .answer .timeline li", (l) => l.map((li) => li.className));
  ok(copies.length === 5 && copies.filter((c) => c === "replayed").length === 4,
    "... its timeline shows 5 copies, 4 of them replayed", `got: ${copies}`);
  const orders = await apiGet("/orders");
  ok(orders.orders.length === 1, "... and GET /orders counts one order", `got: ${orders.orders.length}`);
  const state = await text("#order-answers > .answer .state");
  ok(/orders 0 → 1/.test(state) && /stored keys 0 → 1/.test(state),
    "... the card shows the counters before and after", `got: ${state}`);
  ok(await inView("#order-answers"), "... and the answer is in view without scrolling");

  // --- the same key, another body: 422 reused, then a new key: stored 409 ---
  await page.click("#fill-out-of-stock");
  await page.click("#order-place");
  await page.waitForFunction(() => /422/.test(document.querySelector("#order-answers > .answer .chip")?.textContent));
  await settled("#order-answers");
  ok(/idempotency-key-reused/.test(await text("#order-answers > .answer .problem")),
    "another body under the same key: 422 idempotency-key-reused");
  const oldKey = await page.$eval("#order-key", (e) => e.value);
  await page.click("#order-answers > .answer .advice button.newkey");
  ok(await page.$eval("#order-key", (e) => e.value) !== oldKey, "... whose card offers a new key");
  await page.click("#order-place");
  await page.waitForFunction(() => /409/.test(document.querySelector("#order-answers > .answer .chip")?.textContent));
  await settled("#order-answers");
  ok(/out-of-stock/.test(await text("#order-answers > .answer .problem")) &&
    /needs a new key/.test(await text("#order-answers > .answer .advice")),
    "6 cups with the new key: 409 out-of-stock, stored; the card says a corrected request needs a new key");
  ok(/earlier answers \(2\)/i.test(await text("#order-answers > details.earlier > summary")),
    "... and the earlier answers are folded under it");

  // --- pay with a wrong amount: 422 amount-mismatch ---
  const [payOrder, payAmount] = await page.$$eval(["#pay-order", "#pay-amount"].join(","), (l) => l.map((e) => e.value));
  ok(payOrder === String(orders.orders[0].id) && payAmount === "600", "the new order filled in the payment form",
    `got: order ${payOrder}, amount ${payAmount}`);
  await page.$eval("#pay-amount", (e) => { e.value = "599"; });
  await page.click("#pay-send");
  await page.waitForSelector("#pay-answers > .answer");
  await settled("#pay-answers");
  ok(/^422/.test(await text("#pay-answers > .answer .chip")) && /amount-mismatch/.test(await text("#pay-answers > .answer .problem")),
    "paying 599 for 600: 422 amount-mismatch", await text("#pay-answers > .answer"));
  ok((await page.$("#pay-answers > .answer .advice button.newkey")) !== null, "... stored: the card offers a new key");
  ok(await inView("#pay-answers"), "... in view without scrolling");

  // --- the payment lessons ---
  // lesson(ID, then): runs lesson ID (and then THEN) to its end; its steps' texts.
  const lesson = async (id, then) => {
    await page.click(`#lesson-${id} button.primary`);
    await page.waitForSelector(`#lesson-${id} .steps-box > .state`, { timeout: 60000 });
    if (then) await then();
    return page.$$eval(`#lesson-${id} .step`, (l) => l.map((s) => s.textContent.replace(/\s+/g, " ")));
  };
  const good = (id) => page.$$eval(`#lesson-${id} .conclusion`, (l) => l.at(-1).classList.contains("good"));

  let st = await lesson("slow");
  const i409 = st.findIndex((s) => /409 Conflict.*idempotency-key-in-progress/.test(s));
  const last201 = st.findLastIndex((s) => /201 Created/.test(s) && /replayed/.test(s));
  ok(i409 > 0, "the slow card: the 2nd click gets 409 idempotency-key-in-progress", ...st);
  ok(last201 > i409, "... then the retry with the same key gets the 201, replayed", ...st);
  ok(/1 charge: ch_\d+ ¥600 tok_slow/.test(st.at(-1)), "... and the provider's ledger shows one charge", ...st);
  ok(await good("slow"), "... the lesson concludes as it should", await text("#lesson-slow .conclusion"));
  const lessonState = await text("#lesson-slow .steps-box > .state");
  const m = lessonState.match(/orders (\d+) → (\d+)/);
  ok(m && Number(m[2]) === Number(m[1]) + 1, "... and its counters before and after show one more order", `got: ${lessonState}`);

  st = await lesson("lost");
  ok(/504 Gateway Timeout.*payment-provider-unavailable/.test(st[1]), "the lost answer: the shop answers 504", ...st);
  ok(/201 Created/.test(st.at(-2)) && /1 charge: ch_\d+ ¥600 tok_lost/.test(st.at(-1)),
    "... the retry with the same key gets 201, and the ledger beside it shows one charge", ...st);

  st = await lesson("declined", async () => {
    await page.click("#lesson-declined .conclusion button");
    await page.waitForSelector("#lesson-declined .conclusion.good");
  });
  ok(/402 Payment Required.*payment-declined/.test(st[1]) && /402 Payment Required\s*replayed/.test(st[2]),
    "declined: 402 payment-declined, replayed under the same key", ...st);
  ok(/201 Created/.test(st[3]) && await good("declined"), "... and another card with a new key pays", ...st);

  st = await lesson("completer");
  ok(/504/.test(st[1]) && st.length === 3 && /pending.*succeeded$/.test(st[2]),
    "nobody retries: GET /payments/{id} turns from pending to succeeded by itself", ...st);

  // --- screenshots and widths ---
  const [w1280, v1280] = await noOverflow();
  ok(w1280 === v1280, "at 1280 px the page is as wide as the window", `scrollWidth ${w1280}, innerWidth ${v1280}`);
  const clipped = await page.$$eval("table", (ts) => ts.filter((t) => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1).map((t) => t.className || t.id));
  ok(clipped.length === 0, "... and no table is wider than its box (the keys table fits)", `clipped: ${clipped}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SHOTS}/demo-1280.png`, fullPage: true });

  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  const [w390, v390] = await noOverflow();
  ok(w390 === 390 && v390 === 390, "at 390 px the page is as wide as the window: no horizontal scroll", `scrollWidth ${w390}, innerWidth ${v390}`);
  // What can be seen of an element ends at the right edge of the boxes
  // that clip it (overflow other than visible).
  const wide = await page.evaluate(() => [...document.querySelectorAll("body *")].filter((e) => {
    if (!e.getClientRects().length) return false;
    let right = e.getBoundingClientRect().right;
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") right = Math.min(right, a.getBoundingClientRect().right);
    }
    return right > innerWidth + 1;
  }).map((e) => e.tagName + "." + e.className).slice(0, 5));
  ok(wide.length === 0, "... and no element sticks out of it", `sticking out: ${wide}`);
  await page.screenshot({ path: `${SHOTS}/demo-390.png`, fullPage: true });
  await page.click("#order-newkey");
  await page.$eval("#qty-0", (e) => { e.value = "1"; });
  await page.$$eval("#products input:not(#qty-0)", (l) => l.forEach((e) => { e.value = "0"; }));
  await page.click("#order-place");
  await page.waitForFunction(() => /^201/.test(document.querySelector("#order-answers > .answer .chip")?.textContent));
  await settled("#order-answers");
  ok(await inView("#order-answers"), "at 390 px, a new order's answer is in view without scrolling");
  await page.screenshot({ path: `${SHOTS}/demo-390-answer.png` });

  ok(errors.length === 0, "no script errors and no failed loads on the page", ...errors);
} catch (e) {
  ok(false, "the browser script ran to its end", e.stack, ...errors);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
