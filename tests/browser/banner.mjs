// tests/browser/banner.mjs — the demo page says so while a lesson is on:
// loads BASE/ in headless chromium and prints "ok - …" or "not ok - …"
// for the banner, which WANT ("" for none) names.
//
//   node tests/browser/banner.mjs BASE WANT

import puppeteer from "puppeteer-core";

const [BASE, WANT] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
});
try {
  const page = await browser.newPage();
  await page.goto(BASE + "/", { waitUntil: "networkidle0" });
  const banner = await page.$eval("#lesson-banner", (e) => ({ hidden: e.hidden, text: e.textContent }));
  const panel = await page.$eval("#store-lesson", (e) => ({ hidden: e.hidden, button: e.querySelector("button").textContent }));
  if (WANT)
    console.log(`${!banner.hidden && banner.text.includes(WANT) && !panel.hidden && panel.button ? "ok" : "not ok"} - ` +
      `with ONCESHOP_LESSON=${WANT}, the page shows a banner naming it and the lesson's panel ("${panel.button}")`);
  else
    console.log(`${banner.hidden && panel.hidden ? "ok" : "not ok"} - without a lesson, the page shows no lesson banner and no lesson panel`);
} finally {
  await browser.close();
}
