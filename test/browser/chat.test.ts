/// <reference lib="dom" />
// The example chat (root wrangler.jsonc) in a real browser: two headless Chromium pages
// join the same room; one sends a message and a picture (binary), the other shows both.
// The pages use socket.io-client's default transports: polling first, then the upgrade
// to WebSocket. Needs Chromium (`apt-get install chromium`, or CHROMIUM_PATH).
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium, makePng } from "../helpers/browser.js";
import { startWrangler, type WranglerInstance } from "../helpers/wrangler.js";

const chromiumPath = findChromium();
// Skipped when Chromium is missing, except in CI (`.ci/run` installs it), where the
// test runs and fails instead.
const skip = chromiumPath === null && !process.env.CI;

interface ChatPage {
  page: Page;
  /** Engine.IO requests seen by the page, by transport. */
  transports: { polling: number; websocket: number };
  /** Uncaught errors of the page, failed requests and HTTP errors. */
  errors: string[];
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

  /** Opens the chat in a fresh browser context, sets the nickname and joins `room`. */
  async function openChat(name: string, room: string): Promise<ChatPage> {
    if (!browser || !wrangler) throw new Error("not started");
    const context = await browser.newContext();
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
    page.on("response", (response) => {
      // The example serves no favicon; every other request must succeed.
      if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) {
        errors.push(`HTTP ${response.status()}: ${response.url()}`);
      }
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
    return { page, transports, errors };
  }

  it("shows a message and a picture sent from another page in the same room", async () => {
    expect(
      chromiumPath,
      "Chromium not found: apt-get install chromium, or set CHROMIUM_PATH",
    ).not.toBeNull();
    const room = `room-${Math.random().toString(36).slice(2, 8)}`;
    const alice = await openChat("alice", room);
    const bob = await openChat("bob", room);

    for (const p of [alice, bob]) {
      expect(p.transports.polling).toBeGreaterThan(0);
      expect(p.transports.websocket).toBeGreaterThan(0);
    }
    await alice.page.locator("#log li.info", { hasText: "bob joined" }).waitFor();

    // A message.
    await alice.page.fill("#text", "hello bob");
    await alice.page.press("#text", "Enter");
    const received = bob.page.locator("#log li.message", { hasText: "hello bob" });
    await received.waitFor();
    expect(await received.textContent()).toBe("alice: hello bob");
    // The room includes the sender.
    await alice.page.locator("#log li.message", { hasText: "hello bob" }).waitFor();

    // A picture, sent as binary.
    const png = makePng(24, 16);
    await alice.page.setInputFiles("#file", {
      name: "gradient.png",
      mimeType: "image/png",
      buffer: png,
    });
    await alice.page.locator('#log img[alt="your picture"]').waitFor();
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

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 120_000);
});
