/// <reference lib="dom" />
// The example chat (root wrangler.jsonc) in a real browser: headless Chromium pages join
// a room, send messages and pictures (binary), rename themselves, and the page is looked
// at on a phone-sized screen. The pages use socket.io-client's default transports:
// polling first, then the upgrade to WebSocket. Needs Chromium (`apt-get install
// chromium`, or CHROMIUM_PATH). Screenshots are written to test-results/.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, makePng } from "../helpers/browser.js";
import { startWrangler, type WranglerInstance } from "../helpers/wrangler.js";

const chromiumPath = findChromium();
// Skipped when Chromium is missing, except in CI (`.ci/run` installs it), where the
// test runs and fails instead.
const skip = chromiumPath === null && !process.env.CI;

const RESULTS = fileURLToPath(new URL("../../test-results/", import.meta.url));

/** Where and how a page runs: its clock is shown in this locale and time zone. */
interface Place {
  locale: string;
  timezoneId: string;
}

interface ChatPage {
  page: Page;
  place: Place;
  /** Engine.IO requests seen by the page, by transport. */
  transports: { polling: number; websocket: number };
  /** Uncaught errors of the page, console errors, failed requests and HTTP errors. */
  errors: string[];
}

/** The time `at` (ms) as the page shows it: hours and minutes in its locale and zone. */
function clockText(at: number, place: Place): string {
  const format = new Intl.DateTimeFormat(place.locale, {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: place.timezoneId,
  });
  return normalize(format.format(at));
}

/** Collapses every kind of space (ICU puts U+202F before "AM") into one plain space. */
function normalize(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/**
 * One line of the log: its text, and the server's time it shows (the `datetime` of its
 * `<time>`, in ms) with the text of that `<time>`.
 */
async function readLine(li: Locator): Promise<{ text: string; at: number; clock: string }> {
  return li.evaluate((el) => {
    const time = el.querySelector("time");
    return {
      text: el.textContent ?? "",
      at: time ? Date.parse(time.dateTime) : Number.NaN,
      clock: time?.textContent ?? "",
    };
  });
}

/** Checks that a message line shows `at` as the page's clock, then `rest`. */
function expectStamped(
  line: { text: string; at: number; clock: string },
  place: Place,
  rest: string,
) {
  expect(Number.isFinite(line.at), "the line has a <time> with the server's time").toBe(true);
  expect(normalize(line.clock)).toBe(clockText(line.at, place));
  expect(normalize(line.text)).toBe(`${clockText(line.at, place)} ${rest}`);
}

/** The texts of the page's info lines from the one that starts with `from` on. */
async function infoLinesFrom(page: Page, from: string): Promise<string[]> {
  const all = await page.locator("#log li.info").allTextContents();
  const start = all.findIndex((t) => t.startsWith(from));
  return start < 0 ? [] : all.slice(start);
}

describe.skipIf(skip)("the example chat in Chromium", () => {
  let wrangler: WranglerInstance | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (chromiumPath === null) return; // the test fails on it
    wrangler = await startWrangler({ config: "wrangler.jsonc", readyPath: "/health" });
    browser = await launchChromium(chromiumPath);
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await wrangler?.stop();
  }, 60_000);

  const newRoom = () => `room-${Math.random().toString(36).slice(2, 8)}`;

  /** Opens the chat in a fresh browser context, sets the nickname and joins `room`. */
  async function openChat(
    name: string,
    room: string,
    place: Place = { locale: "en-GB", timezoneId: "UTC" },
  ): Promise<ChatPage> {
    expect(
      chromiumPath,
      "Chromium not found: apt-get install chromium, or set CHROMIUM_PATH",
    ).not.toBeNull();
    if (!browser || !wrangler) throw new Error("not started");
    const context = await browser.newContext({ ...place, viewport: { width: 1024, height: 700 } });
    contexts.push(context);
    const page = await context.newPage();
    const transports = { polling: 0, websocket: 0 };
    const errors: string[] = [];
    page.on("request", (request) => {
      if (/\/socket\.io\/\?.*transport=polling/.test(request.url())) transports.polling++;
    });
    page.on("websocket", (ws) => {
      if (ws.url().includes("/socket.io/")) transports.websocket++;
    });
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    // Chromium logs a resource it could not load (the favicon too) as a console error.
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    page.on("requestfailed", (request) => {
      errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ""}`);
    });

    await page.goto(`${wrangler.url}/`);
    // On connect the page joins the room in its input ("lobby"); then we pick ours.
    await page.waitForFunction(() => document.body.dataset.room === "lobby");
    await page.fill("#name", name);
    await page.fill("#room", room);
    await page.click("#join");
    await page.waitForFunction((r) => document.body.dataset.room === r, room);
    // socket.io-client's default: it connected over polling and upgrades to WebSocket.
    await page.waitForFunction(
      () => document.getElementById("status")?.textContent === "connected (websocket)",
    );
    expect(transports.polling).toBeGreaterThan(0);
    expect(transports.websocket).toBeGreaterThan(0);
    return { page, place, transports, errors };
  }

  it("shows messages and pictures with the server's time, your own as 'you'", async () => {
    const room = newRoom();
    // Two places, so that the time shown is each browser's rendering of the server's time.
    const alice = await openChat("alice", room, {
      locale: "en-US",
      timezoneId: "America/New_York",
    });
    const bob = await openChat("bob", room, { locale: "en-GB", timezoneId: "Asia/Kolkata" });
    await alice.page.locator("#log li.info", { hasText: "bob joined" }).waitFor();
    expect(await infoLinesFrom(bob.page, `you joined #${room}`)).toEqual([
      `you joined #${room} as bob; also here: alice`,
    ]);

    // A message: the others see the sender's name, the sender sees "you"; both show the
    // one time the server gave it.
    await alice.page.fill("#text", "hello bob");
    await alice.page.press("#text", "Enter");
    const received = bob.page.locator("#log li.message", { hasText: "hello bob" });
    await received.waitFor();
    const mine = alice.page.locator("#log li.message", { hasText: "hello bob" });
    await mine.waitFor();
    const [seen, sent] = [await readLine(received), await readLine(mine)];
    expectStamped(seen, bob.place, "alice: hello bob");
    expectStamped(sent, alice.place, "you: hello bob");
    expect(sent.at).toBe(seen.at);
    expect(await mine.count(), "the sender shows its message once").toBe(1);
    expect(await received.locator("b").textContent()).toBe("alice");
    expect(await mine.locator("b").textContent()).toBe("you");

    // A picture, sent as binary; labelled like the messages.
    const png = makePng(24, 16);
    await alice.page.setInputFiles("#file", {
      name: "gradient.png",
      mimeType: "image/png",
      buffer: png,
    });
    const myPicture = alice.page.locator("#log li.picture", {
      has: alice.page.locator('img[alt="your picture"]'),
    });
    await myPicture.waitFor();
    const picture = bob.page.locator('#log li.picture img[alt="picture from alice"]');
    await picture.waitFor();
    const shown = await picture.evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      return { width: img.naturalWidth, height: img.naturalHeight, bytes: Array.from(bytes) };
    });
    expect(shown.width).toBe(24);
    expect(shown.height).toBe(16);
    expect(Buffer.from(shown.bytes).equals(png)).toBe(true);
    const [pictureSeen, pictureSent] = [
      await readLine(bob.page.locator("#log li.picture")),
      await readLine(myPicture),
    ];
    expectStamped(pictureSeen, bob.place, "alice sent a picture:");
    expectStamped(pictureSent, alice.place, "you sent a picture:");
    expect(pictureSent.at).toBe(pictureSeen.at);

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 120_000);

  it("shows a rename as one line to the room, not a leave and a join", async () => {
    const room = newRoom();
    const alice = await openChat("alice", room);
    const bob = await openChat("bob", room);
    await alice.page.locator("#log li.info", { hasText: "bob joined" }).waitFor();

    // The Join button with the same room and a new name: a rename.
    await alice.page.fill("#name", "alicia");
    await alice.page.click("#join");
    await bob.page.locator("#log li.info", { hasText: "alice is now alicia" }).waitFor();
    await alice.page.locator("#log li.info", { hasText: "you are now alicia" }).waitFor();
    // A message after the rename: whatever the server sent for the rename came before it.
    await alice.page.fill("#text", "new name");
    await alice.page.press("#text", "Enter");
    const received = bob.page.locator("#log li.message", { hasText: "new name" });
    await received.waitFor();
    expectStamped(await readLine(received), bob.place, "alicia: new name");
    await alice.page.locator("#log li.message", { hasText: "new name" }).waitFor();

    expect(await infoLinesFrom(bob.page, `you joined #${room}`)).toEqual([
      `you joined #${room} as bob; also here: alice`,
      "alice is now alicia",
    ]);
    expect(await infoLinesFrom(alice.page, `you joined #${room}`)).toEqual([
      `you joined #${room} as alice; nobody else here`,
      "bob joined",
      "you are now alicia",
    ]);

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 120_000);

  it("fits a 375 px wide screen and has a favicon", async () => {
    if (!wrangler) throw new Error("not started");
    const carol = await openChat("carol", newRoom());
    const { page } = carol;
    // A long word (a link) and a picture in the log.
    const link = `https://example.com/${"a-long-path/".repeat(12)}`;
    await page.fill("#text", `see ${link}`);
    await page.press("#text", "Enter");
    await page.locator("#log li.message", { hasText: link }).waitFor();
    await page.setInputFiles("#file", {
      name: "wide.png",
      mimeType: "image/png",
      buffer: makePng(600, 40),
    });
    await page.locator('#log img[alt="your picture"]').waitFor();
    await page.screenshot({ path: path.join(RESULTS, "chat-desktop.png") });

    await page.setViewportSize({ width: 375, height: 667 });
    const layout = await page.evaluate(() => {
      const root = document.documentElement;
      const file = document.getElementById("file");
      if (!file) throw new Error("no #file");
      const box = file.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return {
        scrollWidth: root.scrollWidth,
        clientWidth: root.clientWidth,
        clientHeight: root.clientHeight,
        file: { left: box.left, top: box.top, right: box.right, bottom: box.bottom },
        fileOnTop: hit === file,
      };
    });
    await page.screenshot({ path: path.join(RESULTS, "chat-375.png") });
    expect(layout.clientWidth).toBe(375);
    expect(layout.scrollWidth, "no sideways scrolling").toBeLessThanOrEqual(layout.clientWidth);
    expect(layout.file.left).toBeGreaterThanOrEqual(0);
    expect(layout.file.top).toBeGreaterThanOrEqual(0);
    expect(layout.file.right).toBeLessThanOrEqual(layout.clientWidth);
    expect(layout.file.bottom).toBeLessThanOrEqual(layout.clientHeight);
    expect(layout.fileOnTop, "nothing covers the file control").toBe(true);

    // The page's own icon (inline SVG) loads; /favicon.ico answers too.
    const icon = await page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
      if (!link) return null;
      const img = new Image();
      img.src = link.href;
      await img.decode();
      return { svg: link.href.startsWith("data:image/svg+xml,"), width: img.naturalWidth };
    });
    expect(icon).toEqual({ svg: true, width: 16 });
    const favicon = await fetch(`${wrangler.url}/favicon.ico`);
    expect(favicon.status).not.toBe(404);
    expect(favicon.ok).toBe(true);

    expect(carol.errors).toEqual([]);
  }, 120_000);
});
