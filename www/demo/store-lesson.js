// store-lesson.js — while a lesson of the key store is on (ONCESHOP_LESSON,
// README "Where the keys live"), one panel above the forms: what the
// design gets wrong, and a button that does the step that shows it.

import { $, newKey } from "./api.js";

const PANELS = {
  "memory-store": {
    title: "Lesson: the keys in the server's memory",
    text: "Place an order. Stop the server (Ctrl-C) and start it again with " +
      "ONCESHOP_LESSON=memory-store make run, then send the same request again: " +
      "the restart forgot the key, and the retry makes a second order (watch the " +
      "orders counter). Course: where the keys live.",
    button: "Send the last order again",
    go: () => $("order-retry").click(),
  },
  "select-then-insert": {
    title: "Lesson: look, then insert (no UNIQUE)",
    text: "Ten copies of one order at once, under one new key. On PostgreSQL " +
      "(make run DB=postgres) each copy looks before any has inserted, and each " +
      "makes an order; on SQLite the single writer runs them one after the other " +
      "and hides the race. Course: why a UNIQUE constraint.",
    button: "10 copies at once",
    go: (c) => c.sendOrder(newKey(), c.orderBody(), 10),
  },
  "redis-store": {
    title: "Lesson: the keys in Redis, beside the database",
    text: "The key and the order are two systems. Start the server with " +
      "ONCESHOP_LESSON_CRASH=after-store, place an order (it dies before its " +
      "COMMIT), start it again without, and retry: a 201 replayed for an order " +
      "that does not exist. Stop Redis, and every new order is 503: the shop " +
      "fails closed. Course: where the keys live.",
    button: "Place the order",
    go: () => $("order-place").click(),
  },
};

// showStoreLesson(name, {sendOrder, orderBody}): the panel of lesson name.
export function showStoreLesson(name, c) {
  const p = PANELS[name];
  if (!p) return;
  $("store-lesson-title").textContent = p.title;
  $("store-lesson-text").textContent = p.text;
  $("store-lesson-go").textContent = p.button;
  $("store-lesson-go").onclick = () => p.go(c);
  $("store-lesson").hidden = false;
}
