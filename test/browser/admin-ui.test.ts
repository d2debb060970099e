/// <reference lib="dom" />
// The admin UI's real dashboard (the `ui/dist` of `@socket.io/admin-ui`, served by the
// fixture at `/admin-ui/`) in headless Chromium, connected to the instrumented `/inst/`
// object as a person would connect it (server URL, then the path in the advanced
// options): it lists a socket.io-client's socket with its rooms, and shows its new rooms
// and events as they happen. Needs Chromium (`apt-get install chromium`, or
// CHROMIUM_PATH).
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium } from "../helpers/browser.js";
import { baseUrl } from "../helpers/eio.js";
import { Clients, uid } from "../helpers/sio.js";

const chromiumPath = findChromium();
// Skipped when Chromium is missing, except in CI, where the test runs and fails instead.
const skip = chromiumPath === null && !process.env.CI;

const clients = new Clients();
afterEach(() => clients.closeAll());

describe.skipIf(skip)("the admin UI's dashboard in Chromium", () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (chromiumPath === null) return; // the test fails on it
    browser = await launchChromium(chromiumPath);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
  }, 60_000);

  /** Opens the dashboard and connects it to `/inst/` through its connection form. */
  async function openDashboard(): Promise<{ page: Page; errors: string[] }> {
    if (!browser) throw new Error("Chromium did not start");
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    await page.goto(`${baseUrl()}/admin-ui/`);
    await page.getByLabel("Server URL").fill(baseUrl());
    await page.getByText("Advanced options").click();
    await page.getByLabel("Path").fill("/inst/");
    await page.getByRole("button", { name: "Connect" }).click();
    // The status in the app bar.
    await page
      .getByText(/^connected$/i)
      .first()
      .waitFor({ timeout: 15_000 });
    return { page, errors };
  }

  /** Goes to a page of the dashboard through its navigation drawer. */
  async function show(page: Page, name: "Sockets" | "Rooms" | "Events"): Promise<void> {
    await page.getByRole("link", { name }).first().click();
  }

  it("lists the object's sockets and rooms, and shows new rooms and events as they happen", async () => {
    const room = `dash-${uid()}`;
    const later = `later-${uid()}`;
    const event = `event-${uid()}`;
    const client = await clients.connect("inst", "/", { auth: { room } });
    const id = client.id;

    const { page, errors } = await openDashboard();
    await show(page, "Sockets");
    await page.getByText(id, { exact: true }).waitFor({ timeout: 15_000 });

    await show(page, "Rooms");
    await page.getByText(room, { exact: true }).waitFor({ timeout: 15_000 });
    // A room joined now appears without reloading (the dashboard's live updates).
    await client.call("join", later);
    await page.getByText(later, { exact: true }).waitFor({ timeout: 15_000 });

    await show(page, "Events");
    client.socket.emit("echo", event);
    // The event the client sent ("Event received") and the one the server sent back.
    const rows = page.locator("tr", { hasText: id }).filter({ hasText: "echo" });
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    await expect(rows.filter({ hasText: "Event received" }).count()).resolves.toBe(1);
    await expect(rows.filter({ hasText: "Event sent" }).count()).resolves.toBe(1);
    expect(errors).toEqual([]);
  });
});
