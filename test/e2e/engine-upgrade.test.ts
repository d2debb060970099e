// Upgrade of a long-polling session to WebSocket (probe, noop, upgrade).
import { afterEach, describe, expect, it } from "vitest";
import {
  clientsCount,
  errorBody,
  nextNonPing,
  PollingSession,
  Resources,
  settle,
  waitForClientsCount,
  wsUrl,
} from "../helpers/eio.js";
import { withTimeout } from "../helpers/util.js";
import { WsClient } from "../helpers/ws-client.js";

const resources = new Resources();
afterEach(() => resources.closeAll());

async function openPolling(
  mount: Parameters<typeof PollingSession.open>[0] = "engine.io",
): Promise<PollingSession> {
  return resources.polling(await PollingSession.open(mount));
}

async function openUpgradeSocket(
  session: PollingSession,
  options = { autoPong: true },
): Promise<WsClient> {
  const url = wsUrl(session.mount, { EIO: "4", transport: "websocket", sid: session.sid });
  return resources.ws(await WsClient.connect(url, options));
}

/** Opens the WebSocket of a polling session and completes the upgrade. */
async function upgrade(session: PollingSession): Promise<WsClient> {
  const ws = await openUpgradeSocket(session);
  ws.send("2probe");
  expect(await ws.next()).toBe("3probe");
  ws.send("5");
  return ws;
}

/** Opens another WebSocket with the session's sid: accepted, closed at once, silent. */
async function expectClosedAtOnce(session: PollingSession): Promise<void> {
  const url = wsUrl(session.mount, { EIO: "4", transport: "websocket", sid: session.sid });
  const second = resources.ws(await WsClient.connect(url));
  await second.waitClosed(3_000);
  expect(second.received).toEqual([]);
}

describe("polling to WebSocket upgrade", () => {
  it("probes, answers a GET during the upgrade with a noop, then carries messages over the WebSocket", async () => {
    await settle("engine.io");
    const session = await openPolling();
    const ws = await openUpgradeSocket(session);
    // Nothing is sent on the new WebSocket before the probe.
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");

    // While upgrading, a GET on the polling transport is released with a noop
    // (after the reference server's 100 ms check).
    const during = await withTimeout(session.get(), 2_000, "GET during the upgrade");
    expect(during.status).toBe(200);
    expect(during.body).toBe("6");

    ws.send("5");
    ws.send("4hello");
    expect(await ws.next()).toBe("4hello");
    ws.send(Buffer.from([1, 2, 3, 4]));
    expect([...(await ws.nextBinary())]).toEqual([1, 2, 3, 4]);

    // Still one session, not two.
    expect(await clientsCount("engine.io")).toBe(1);
  });

  it("answers a GET pending at the time of the probe with noop (6)", async () => {
    const session = await openPolling();
    const pending = session.get();
    // Let the GET reach the server before the WebSocket is opened.
    await new Promise((r) => setTimeout(r, 50));
    const ws = await openUpgradeSocket(session);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    const released = await withTimeout(pending, 2_000, "pending GET after the probe");
    expect(released.status).toBe(200);
    expect(released.body).toBe("6");
    ws.send("5");
    ws.send("4after");
    expect(await ws.next()).toBe("4after");
  });

  it("refuses polling requests with the sid after the upgrade with 400 code 3", async () => {
    const session = await openPolling();
    const ws = await upgrade(session);
    ws.send("4ready");
    expect(await ws.next()).toBe("4ready");

    const get = await session.get();
    expect(get.status).toBe(400);
    expect(errorBody(get)).toEqual({ code: 3, message: "Bad request" });
    const post = await session.post("4x");
    expect(post.status).toBe(400);
    expect(errorBody(post)).toEqual({ code: 3, message: "Bad request" });

    // The upgraded session is not harmed by those requests.
    ws.send("4still");
    expect(await ws.next()).toBe("4still");
  });

  it("sends packets over a GET held during the upgrade until the noop, not twice", async () => {
    const session = await openPolling();
    const pending = session.get();
    await new Promise((r) => setTimeout(r, 50));
    const ws = await openUpgradeSocket(session);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    // An echo produced right after the probe leaves over the held GET, as on
    // the reference server, instead of a noop followed by the packet on the
    // new transport.
    await session.send("4right-after-probe");
    const released = await withTimeout(pending, 2_000, "held GET");
    expect(released.body).toBe("4right-after-probe");
    ws.send("5");
    ws.send("4after");
    expect(await nextNonPing(ws)).toBe("4after");
    expect(ws.received).not.toContain("4right-after-probe");
  });

  it("accepts and closes at once a second WebSocket for an upgraded session, the first keeps working", async () => {
    const session = await openPolling();
    const first = await upgrade(session);
    first.send("4one");
    expect(await first.next()).toBe("4one");

    // The reference server accepts it and closes it at once.
    await expectClosedAtOnce(session);

    first.send("4two");
    expect(await first.next()).toBe("4two");
  });

  it("accepts and closes at once a second WebSocket while an upgrade is in progress", async () => {
    const session = await openPolling();
    const ws = await openUpgradeSocket(session);
    await expectClosedAtOnce(session);
    // The first attempt goes on.
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    ws.send("5");
    ws.send("4up");
    expect(await nextNonPing(ws)).toBe("4up");
  });

  it("loses no message sent on the session before or during the upgrade", async () => {
    const session = await openPolling();
    // Echoes queued for the polling transport, never fetched with a GET.
    await session.send("4before-1", "4before-2");
    const ws = await openUpgradeSocket(session);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    // Sent over polling while the upgrade is in progress.
    await session.send("4during");
    ws.send("5");
    ws.send("4after");

    const received: string[] = [];
    while (received.length < 4) {
      const frame = await nextNonPing(ws);
      if (frame === "6") continue;
      received.push(typeof frame === "string" ? frame : `<binary ${frame.toString("hex")}>`);
    }
    expect(received).toEqual(["4before-1", "4before-2", "4during", "4after"]);
  });

  it("keeps the session open across heartbeats after the upgrade, and closes it with the WebSocket", async () => {
    await settle("engine.io");
    const session = await openPolling();
    const ws = await upgrade(session);
    // autoPong answers the pings that now arrive over the WebSocket.
    const deadline = Date.now() + 5_000;
    while (ws.pingsAnswered < 3 && Date.now() < deadline) {
      ws.send("4tick");
      expect(await ws.next(2_000)).toBe("4tick");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ws.pingsAnswered).toBeGreaterThanOrEqual(3);
    expect(await clientsCount("engine.io")).toBe(1);
    await ws.close();
    await waitForClientsCount("engine.io", 0);
  });

  it("keeps the polling transport when the WebSocket closes before the upgrade completes", async () => {
    const session = await openPolling();
    const ws = await openUpgradeSocket(session);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    await ws.close();
    // Node's engine.io drops the failed upgrade and keeps the polling transport.
    await session.send("4polling-again");
    expect(await session.receive(1)).toEqual(["4polling-again"]);
  });

  it("upgrades on the /eio-auth/ mount when the token is in the query", async () => {
    const session = resources.polling(await PollingSession.open("eio-auth", { token: "secret" }));
    const url = wsUrl("eio-auth", {
      EIO: "4",
      transport: "websocket",
      sid: session.sid,
      token: "secret",
    });
    const ws = resources.ws(await WsClient.connect(url, { autoPong: true }));
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    ws.send("5");
    ws.send("4authed-upgrade");
    expect(await ws.next()).toBe("4authed-upgrade");
  });
});
