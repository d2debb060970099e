// Idle socket.io-client 2.x clients on `/hib3/` (test/e2e/README.md): they ping every
// 2 s and the runtime answers each ping itself (a WebSocket auto-response), so that
// their pings do not wake the object: wrangler dev evicts it while they ping (it does so
// after 10 to 15 s without events). The server gives a session 32 s from its last ping;
// the alarm that comes then wakes the object, which counts the pings the runtime
// answered and keeps the sessions.
//
// Reading the stats is itself an event for the object (it wakes it and restarts its idle
// timer): they are read only before the idle windows and after the actions.
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, request } from "../helpers/eio.js";
import { MODES, uid } from "../helpers/sio.js";
import { type Client2, Clients2 } from "../helpers/sio2.js";
import { sleep, waitUntil } from "../helpers/util.js";

const clients2 = new Clients2();
afterEach(() => clients2.closeAll());

/** Idle time that lets wrangler dev evict the object. */
const IDLE_MS = 20_000;

interface Stats {
  clientsCount: number;
  wakes: number;
  storedSockets: number;
}

async function stats(): Promise<Stats> {
  const result = await request(`${baseUrl()}/__stats?mount=hib3`);
  if (result.status !== 200) throw new Error(`/__stats answered ${result.status}`);
  return JSON.parse(result.body) as Stats;
}

describe("/hib3/: idle Socket.IO v2 clients across evictions", () => {
  it("their pings do not wake the object, and their sessions outlive the eviction and the alarm", {
    timeout: 120_000,
  }, async () => {
    await waitUntil(stats, (s) => s.clientsCount === 0 && s.storedSockets === 0, {
      timeoutMs: 40_000,
      intervalMs: 500,
      what: "/hib3/ without sessions",
    });
    const room = `hib3-${uid()}`;
    // WebSocket clients (directly, and upgraded from polling): a polling client always
    // has a request waiting, which keeps the object in memory.
    const cs: Client2[] = [];
    for (const mode of MODES.filter((m) => m.settled === "websocket")) {
      const c = await clients2.connect("hib3", "/", { mode });
      await c.next("welcome");
      await c.settled(mode);
      expect(await c.call("join", room)).toEqual([c.id, room]);
      cs.push(c);
    }
    const ids = cs.map((c) => c.id);
    const before = await stats();
    const pongs = cs.map((c) => c.count("pong"));

    await sleep(IDLE_MS);

    // Their pings were answered all along.
    cs.forEach((c, i) => {
      expect(c.count("pong")).toBeGreaterThan((pongs[i] ?? 0) + 3);
    });
    const [first, ...others] = cs;
    if (!first) throw new Error("no client");
    await first.request("cast", { rooms: [room], event: "hello", args: [1], self: true });
    for (const c of cs) expect(await c.next("hello")).toEqual([1]);
    const after = await stats();
    expect(after.wakes, "the object was evicted while the clients pinged").toBeGreaterThan(
      before.wakes,
    );

    // Past the deadline the sessions had when the object last saw them (32 s after
    // their handshake): the alarm found the pings the runtime answered.
    await sleep(IDLE_MS);
    expect(cs.map((c) => c.count("disconnect"))).toEqual(cs.map(() => 0));
    expect(cs.map((c) => c.id)).toEqual(ids);
    for (const c of others) {
      expect(await c.request("echo-ack", "still")).toEqual(["still"]);
    }
    expect((await stats()).clientsCount).toBe(cs.length);
  });
});
