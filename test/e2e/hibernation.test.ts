// Hibernation on the `/hib/` mount (see test/e2e/README.md): the feature server
// with Socket.IO's default heartbeat (ping every 25 s), slow enough for
// `wrangler dev` to evict the idle object between pings (it does so after 10 to
// 15 s without events; the WebSockets stay open). Each eviction test connects,
// stays completely idle for IDLE_MS (no client traffic: the first ping comes
// 25 s after the handshake), then acts and reads `/__stats?mount=hib`: `wakes`
// grew, so the action ran in a fresh instance rebuilt from storage.
//
// Reading the stats is itself an event (it wakes the object and restarts its
// idle timer), so they are read only before an idle window and after the action.
import { execSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, type Mount, PollingSession, request, wsUrl } from "../helpers/eio.js";
import { type Client, Clients, type RawSio, settled, uid } from "../helpers/sio.js";
import { sleep, waitUntil } from "../helpers/util.js";
import { WsClient } from "../helpers/ws-client.js";

const clients = new Clients();
const pollers: PollingSession[] = [];
const sockets: WsClient[] = [];
afterEach(async () => {
  await clients.closeAll();
  await Promise.all(pollers.splice(0).map((p) => p.close()));
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

/** Idle time that lets wrangler dev evict the object, still before the first ping. */
const IDLE_MS = 20_000;
/** The least idle time after which wrangler dev reliably evicts the object. */
const MIN_IDLE_MS = 16_000;
/** The heartbeat of `/hib/` (Socket.IO's defaults). */
const PING_INTERVAL = 25_000;
const PING_TIMEOUT = 20_000;

interface HibStats {
  clientsCount: number;
  wakes: number;
  revivedSockets: number;
  loadedConnections: number;
  indexLoaded: boolean;
  storage: { rowsRead: number; rowsWritten: number; queries: number };
  storedSockets: number;
  storedRooms: number;
}

interface SocketView {
  id: string;
  rooms: string[];
  data: unknown;
}

interface Gone {
  id: string;
  reason: string;
  rooms: string[];
}

/** `stats()` of the `/hib/` object (an event for the object: it wakes it up). */
async function stats(): Promise<HibStats> {
  const result = await request(`${baseUrl()}/__stats?mount=hib`);
  if (result.status !== 200) {
    throw new Error(`/__stats?mount=hib answered ${result.status}: ${result.body}`);
  }
  return JSON.parse(result.body) as HibStats;
}

/** Waits until the stats satisfy `accept` (bounded), returning them. */
function statsUntil(
  accept: (s: HibStats) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<HibStats> {
  return waitUntil(stats, accept, { timeoutMs, intervalMs: 250, what });
}

/** No session or stored socket left over from an earlier test. */
function quiet(): Promise<HibStats> {
  return statsUntil(
    (s) => s.clientsCount === 0 && s.storedSockets === 0 && s.storedRooms === 0,
    "/hib/ without sessions nor stored sockets",
  );
}

/** A socket.io-client socket on `/hib/` that got its `welcome`. */
async function connect(
  auth: Record<string, unknown> = {},
  transports: Array<"websocket" | "polling"> | undefined = ["websocket"],
): Promise<Client> {
  const client = await clients.connect("hib", "/", { transports, auth });
  await client.next("welcome");
  return client;
}

function byId(list: SocketView[]): SocketView[] {
  return [...list].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** The file descriptor limit of this process (`ulimit -n`), Infinity when unlimited. */
function fdLimit(): number {
  try {
    const text = execSync("ulimit -n", { shell: "/bin/sh", encoding: "utf8" }).trim();
    return text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

describe("/hib/: state across evictions of the object", () => {
  it("state survives eviction", { timeout: 90_000 }, async () => {
    await quiet();
    const room = `hib-r-${uid()}`;
    const a = await connect({ name: "alice" });
    const b = await connect({ name: "bob" });
    const c = await connect({ name: "carol" });
    const ids = { a: a.id, b: b.id, c: c.id };
    expect(await a.call("join", room)).toEqual([ids.a, room]);
    expect(await b.call("join", room)).toEqual([ids.b, room]);
    await a.request("set-data", { name: "alice", n: 1 });
    const before = await stats();
    expect(before.storedSockets).toBe(3);
    expect(before.storedRooms).toBe(2);

    await sleep(IDLE_MS);

    // A broadcast to the room, the sender included, from a socket that spoke first
    // after the eviction.
    expect(
      await a.request("cast", { rooms: [room], event: "hello", args: [1], self: true }),
    ).toEqual([]);
    expect(await a.next("hello")).toEqual([1]);
    expect(await b.next("hello")).toEqual([1]);
    await sleep(500);
    expect(a.count("hello")).toBe(1);
    expect(b.count("hello")).toBe(1);
    expect(c.count("hello")).toBe(0);
    const after = await stats();
    expect(after.wakes, "the object was evicted during the idle window").toBeGreaterThan(
      before.wakes,
    );

    // The socket was revived with its id, data and rooms.
    expect(await a.call("whoami")).toMatchObject({
      id: ids.a,
      nsp: "/",
      recovered: true,
      data: { name: "alice", n: 1 },
      rooms: [ids.a, room].sort(),
      auth: { name: "alice" },
    });
    // Client → server ack.
    expect(await a.request("echo-ack", "still", { here: true })).toEqual(["still", { here: true }]);
    // Every member of the room, including B, which has not spoken since the eviction
    // (soft: the checks below still run if this one fails).
    const fetched = (await a.call("fetch", room)) as SocketView[];
    expect.soft(byId(fetched)).toEqual(
      byId([
        { id: ids.a, rooms: [ids.a, room].sort(), data: { name: "alice", n: 1 } },
        { id: ids.b, rooms: [ids.b, room].sort(), data: { name: "bob" } },
      ]),
    );
    // Server → client ack, the client answering.
    a.socket.on("question", (_q: string, ack: (answer: string) => void) => ack("yes"));
    expect(await a.call("ask", 2_000)).toEqual(["null", "yes"]);
    // A new client still connects.
    const d = clients.create("hib", "/", { transports: ["websocket"], auth: { name: "dave" } });
    await d.connected();
    const welcome = (await d.next1("welcome")) as { id: string; rooms: string[] };
    expect(welcome.id).toBe(d.id);
    expect(welcome.rooms).toEqual([d.id]);
  });

  it("thousands of joins in one turn, and a join and a leave in it, come back exactly after an eviction", {
    timeout: 90_000,
  }, async () => {
    await quiet();
    const tag = uid();
    const a = await connect({ name: "joiner" });
    const b = await connect({ name: "caster" });
    const rooms = Array.from({ length: 2_000 }, (_, i) => `many-${tag}-${i}`);
    // One event whose handler makes one socket.join call per room; in the same turn a
    // room is joined and left again, and one joined earlier is left and joined again.
    expect(await a.call("join", `kept-${tag}`)).toEqual([a.id, `kept-${tag}`]);
    const ops = [
      ...rooms.map((room) => ["join", room]),
      ["join", `brief-${tag}`],
      ["leave", `brief-${tag}`],
      ["leave", `kept-${tag}`],
      ["join", `kept-${tag}`],
    ];
    const expected = [a.id, `kept-${tag}`, ...rooms].sort();
    expect(((await a.call("rooms", ops)) as string[]).sort()).toEqual(expected);
    const before = await stats();
    expect(before.storedRooms).toBe(rooms.length + 1);

    await sleep(IDLE_MS);

    // `b` speaks first after the eviction: the room index comes from storage.
    expect(
      await b.request("cast", { rooms: [rooms[1_999], `brief-${tag}`], event: "hi", args: [1] }),
    ).toEqual([]);
    expect(await a.next("hi")).toEqual([1]);
    const after = await stats();
    expect(after.wakes, "the object was evicted during the idle window").toBeGreaterThan(
      before.wakes,
    );
    const view = (await a.call("whoami")) as SocketView & { recovered: boolean };
    expect(view.recovered).toBe(true);
    expect(view.rooms).toEqual(expected);
    expect((await stats()).storedRooms).toBe(rooms.length + 1);
  });

  it("a message after a wake restores only what it needs", { timeout: 150_000 }, async () => {
    const requested = Number(process.env.HIB_IDLE_CLIENTS ?? 300);
    const limit = fdLimit();
    let n = requested;
    if (limit < requested + 100) {
      n = Math.max(10, limit - 100);
      console.log(`[hibernation] ulimit -n is ${limit}: ${n} idle clients instead of ${requested}`);
    }
    await quiet();

    // N idle raw sessions (answering pings, CONNECTed to "/"), then one socket.io-client.
    const firstHandshake = Date.now();
    const raws: RawSio[] = [];
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, async () => {
          const raw = await clients.raw("hib");
          await raw.connect("/");
          return raw;
        }),
      );
      raws.push(...batch);
    }
    const x = await connect({ name: "x" });
    const before = await stats();
    const setupMs = Date.now() - firstHandshake;
    console.log(`[hibernation] ${n} idle clients + 1 connected in ${setupMs} ms`);
    expect(before.clientsCount).toBe(n + 1);
    expect(before.storedSockets).toBe(n + 1);
    // Idle until shortly before the first ping (25 s after the first handshake), long
    // enough for an eviction.
    const idleMs = Math.min(IDLE_MS, firstHandshake + PING_INTERVAL - 1_500 - Date.now());
    expect(idleMs, `setup took ${setupMs} ms: too slow to stay idle long enough`).toBeGreaterThan(
      MIN_IDLE_MS,
    );

    await sleep(idleMs);

    expect(await x.request("echo-ack", "woken")).toEqual(["woken"]);
    const woken = await stats();
    console.log(
      `[hibernation] after one message from 1 of ${n + 1} sockets: storage ${JSON.stringify(woken.storage)}`,
    );
    expect(woken.wakes, "the object was evicted during the idle window").toBeGreaterThan(
      before.wakes,
    );
    expect(woken.revivedSockets).toBe(1);
    expect(woken.loadedConnections).toBe(1);
    expect(woken.indexLoaded).toBe(false);
    expect(woken.storage.rowsRead).toBeLessThan(20);
    expect(woken.clientsCount).toBe(n + 1);

    // A broadcast needs the whole index, but no JavaScript socket for idle clients.
    expect(
      await x.request("cast", { rooms: [`nobody-${uid()}`], event: "nobody", args: [] }),
    ).toEqual([]);
    const cast = await stats();
    expect(cast.indexLoaded).toBe(true);
    expect(cast.revivedSockets).toBe(1);
    expect(cast.clientsCount).toBe(n + 1);
    expect(raws.every((r) => r.isOpen)).toBe(true);

    await clients.closeAll();
    await statsUntil(
      (s) => s.storedSockets === 0 && s.storedRooms === 0,
      "no stored socket nor room after every client left",
      30_000,
    );
  });

  it("a client that stopped answering pings before the eviction is disconnected after it", {
    timeout: 120_000,
  }, async () => {
    await quiet();
    const observer = await connect({ name: "observer" });
    await observer.call("join", "observers");
    const observerId = observer.id;
    const handshake = Date.now();
    const z = await clients.raw("hib", { autoPong: false });
    expect(z.open.pingInterval).toBe(PING_INTERVAL);
    expect(z.open.pingTimeout).toBe(PING_TIMEOUT);
    const zid = await z.connect("/");
    const before = await stats();
    expect(before.storedSockets).toBe(2);

    // Pinged at ~25 s, never answers: closed at ~45 s, by a wake of the object.
    await z.ws.waitClosing(70_000);
    const elapsed = Date.now() - handshake;
    console.log(`[hibernation] the silent client was closed ${elapsed} ms after its handshake`);
    expect(elapsed).toBeGreaterThanOrEqual(PING_INTERVAL + PING_TIMEOUT - 1_000);
    expect(elapsed).toBeLessThan(70_000);
    expect(z.ws.received.filter((f) => f === "2").length).toBe(1);
    // Soft from here on: every consequence of a failure is reported.
    const gone = await observer
      .next("gone", 10_000, (args) => (args[0] as Gone).id === zid)
      .then(
        (args) => args[0],
        (error: unknown) => String(error),
      );
    expect.soft(gone).toEqual({ id: zid, reason: "ping timeout", rooms: [zid] });

    const after = await stats();
    expect
      .soft(after.wakes, "the object started again while waiting")
      .toBeGreaterThan(before.wakes);
    expect.soft(after.storedSockets, "only the observer stays stored").toBe(1);
    expect.soft(after.storedRooms, "the observer's room stays stored").toBe(1);
    const fetched = await observer.call("fetch", null).catch((error: unknown) => String(error));
    expect
      .soft(fetched)
      .toEqual([
        { id: observerId, rooms: [observerId, "observers"].sort(), data: { name: "observer" } },
      ]);
    const disconnects = observer.history.filter((e) => e.event === "disconnect");
    expect
      .soft(
        disconnects.map((e) => e.args[0]),
        "the observer stays connected",
      )
      .toEqual([]);
  });

  it("storage hygiene after all clients disconnect", { timeout: 60_000 }, async () => {
    await quiet();
    const tag = uid();
    const list = await Promise.all(Array.from({ length: 5 }, (_, i) => connect({ name: `h${i}` })));
    for (const [i, client] of list.entries()) {
      await client.call("join", [`hyg-${tag}`, `hyg-${tag}-${i}`]);
      await client.request("set-data", { name: `h${i}`, i });
    }
    const full = await stats();
    expect(full.storedSockets).toBe(5);
    expect(full.storedRooms).toBe(10);

    const [c0, c1, c2, c3, c4] = list as [Client, Client, Client, Client, Client];
    c0.socket.disconnect(); // client namespace disconnect
    c1.socket.emit("disconnect-me", true); // server disconnect, closing the connection
    c2.socket.emit("disconnect-me", false); // server disconnect, connection kept
    c3.socket.io.engine.close(); // the transport closed
    c4.socket.disconnect();
    c4.socket.io.engine.close();
    expect((await c1.next("disconnect"))[0]).toBe("io server disconnect");
    expect((await c2.next("disconnect"))[0]).toBe("io server disconnect");

    await statsUntil(
      (s) => s.storedSockets === 0 && s.storedRooms === 0,
      "no stored socket nor room after every client left",
    );
  });

  it("polling clients are not stored", { timeout: 60_000 }, async () => {
    await quiet();
    const tag = uid();

    // socket.io-client restricted to long-polling.
    const polling = await connect({ name: "poller" }, ["polling"]);
    expect(await polling.call("join", `poll-${tag}`)).toEqual([polling.id, `poll-${tag}`]);
    let s = await stats();
    expect(s.clientsCount).toBe(1);
    expect(s.storedSockets).toBe(0);
    expect(s.storedRooms).toBe(0);

    // Default transports: stored once upgraded to WebSocket.
    const upgrading = clients.create("hib", "/", { auth: { name: "upgrader" } });
    await upgrading.connected();
    await upgrading.next("welcome");
    await settled(upgrading, { name: "default", settled: "websocket" });
    expect(await upgrading.call("join", `up-${tag}`)).toEqual([upgrading.id, `up-${tag}`]);
    s = await statsUntil(
      (v) => v.storedSockets === 1 && v.storedRooms === 1,
      "the upgraded socket stored with its room",
      5_000,
    );
    expect(s.clientsCount).toBe(2);

    // A raw polling session that joins a room, then upgrades: the room joined while
    // polling is stored at the upgrade.
    const session = await PollingSession.open("hib" as Mount);
    pollers.push(session);
    await session.send("40");
    const [connected] = await session.receive(1);
    expect(connected?.startsWith("40{")).toBe(true);
    const rawId = (JSON.parse((connected as string).slice(2)) as { sid: string }).sid;
    expect((await session.receive(1))[0]?.startsWith('42["welcome",')).toBe(true);
    await session.send(`421${JSON.stringify(["join", `raw-${tag}`])}`);
    expect(await session.receive(1)).toEqual([`431${JSON.stringify([[rawId, `raw-${tag}`]])}`]);
    s = await stats();
    expect(s.clientsCount).toBe(3);
    expect(s.storedSockets).toBe(1);
    expect(s.storedRooms).toBe(1);

    const ws = await WsClient.connect(
      wsUrl("hib", { EIO: "4", transport: "websocket", sid: session.sid }),
    );
    sockets.push(ws);
    ws.send("2probe");
    expect(await ws.nextText()).toBe("3probe");
    ws.send("5");
    s = await statsUntil(
      (v) => v.storedSockets === 2 && v.storedRooms === 2,
      "the raw session stored with its room after its upgrade",
      5_000,
    );
    expect(s.clientsCount).toBe(3);
    ws.send(`422${JSON.stringify(["whoami"])}`);
    const answer = await ws.nextText();
    expect(answer.startsWith("432[")).toBe(true);
    expect(JSON.parse(answer.slice(3))[0]).toMatchObject({
      id: rawId,
      rooms: [rawId, `raw-${tag}`].sort(),
    });
  });
});
