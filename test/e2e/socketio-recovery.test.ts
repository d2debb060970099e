// Connection state recovery (see test/e2e/README.md): `/recover/` (Socket.IO's default
// window, the heartbeat of `/hib/`) and `/recover-short/` (a 3 s window, middlewares run
// again). A client drops its transport (`socket.io.engine.close()`), misses broadcasts,
// and comes back with the real socket.io-client's `{ pid, offset }`: the same socket id,
// its rooms and data, every missed event in order and once, before any new one. Also
// after the object was evicted meanwhile, and across a restart of `wrangler dev` over the
// same storage (a deploy). Outside the window, or after `disconnect()`, it is a new socket,
// and the storage holds nothing once every window has passed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort, startWranglerDev, type WranglerDev } from "../../scripts/wrangler-dev.mjs";
import { baseUrl, request } from "../helpers/eio.js";
import {
  type Client,
  type ClientOptions,
  Clients,
  MODES,
  type Mode,
  type SioMount,
  settled,
  uid,
} from "../helpers/sio.js";
import { sleep, waitUntil } from "../helpers/util.js";

interface Stats {
  clientsCount: number;
  wakes: number;
  storedSockets: number;
  recovery?: { packets: number; sessions: number; pids: number };
}

interface WhoAmI {
  id: string;
  data: unknown;
  recovered: boolean;
  rooms: string[];
}

async function stats(mount: SioMount, base = baseUrl()): Promise<Stats> {
  const r = await request(`${base}/__stats?mount=${mount}`);
  if (r.status !== 200) throw new Error(`/__stats?mount=${mount} answered ${r.status}`);
  return JSON.parse(r.body) as Stats;
}

/** The `burst` numbers a client received (the offset is the last argument of each). */
function bursts(c: Client): number[] {
  return c.history.filter((e) => e.event === "burst").map((e) => e.args[0] as number);
}

/** Every `burst` event carries a string offset as its last argument, increasing. */
function expectOffsets(c: Client): void {
  const offsets = c.history
    .filter((e) => e.event === "burst")
    .map((e) => e.args[e.args.length - 1]);
  for (const o of offsets) expect(typeof o).toBe("string");
  const numbers = offsets.map((o) => BigInt(o as string));
  for (let i = 1; i < numbers.length; i++) {
    expect((numbers[i] as bigint) > (numbers[i - 1] as bigint)).toBe(true);
  }
}

/** Waits until `c` has seen `event` more than `n` times. */
async function more(c: Client, event: string, n: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => c.count(event),
    (x) => x > n,
    { timeoutMs, intervalMs: 20, what: `another "${event}"` },
  );
}

/** Drops the client's transport as a network loss would, and waits for its disconnect. */
async function drop(c: Client): Promise<void> {
  const n = c.count("disconnect");
  c.socket.io.engine.close();
  await more(c, "disconnect", n, 10_000);
}

/** Connects again (the client sends its pid and last offset) and waits for `connect`. */
async function reconnect(c: Client, timeoutMs = 10_000): Promise<void> {
  const n = c.count("connect");
  c.socket.connect();
  await more(c, "connect", n, timeoutMs);
}

/**
 * A WebSocket client of `mount` in a new room (with `data` set, if given), and a second
 * client that broadcasts to it; after one broadcast, so that the first client has an
 * offset to come back with.
 */
async function inRoom(
  clients: Clients,
  mount: SioMount,
  prefix: string,
  data?: unknown,
): Promise<{ room: string; away: Client; sender: Client; id: string }> {
  const room = `${prefix}-${uid()}`;
  const away = await clients.connect(mount, "/", { transports: ["websocket"] });
  await away.next("welcome");
  await away.call("join", room);
  if (data !== undefined) await away.call("set-data", data);
  const sender = await clients.connect(mount, "/", { transports: ["websocket"] });
  await sender.call("burst", room, 1);
  await away.next("burst");
  return { room, away, sender, id: away.id };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("connection state recovery on /recover/", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  for (const mode of MODES) {
    it(`${mode.name}: a client that lost its connection gets its id, rooms, data and the 100 broadcasts it missed, in order, once`, {
      timeout: 60_000,
    }, async () => {
      const room = `r-${uid()}`;
      const away = await clients.connect("recover", "/", {
        transports: mode.transports,
        auth: { name: "away" },
      });
      await away.next("welcome");
      await settled(away, mode, 10_000);
      const sender = await clients.connect("recover", "/", { transports: ["websocket"] });
      await away.call("join", room);
      await away.call("set-data", { name: "away", score: 7, drops: 0 });
      // One broadcast while connected: the client now has an offset.
      await sender.call("burst", room, 1);
      await away.next("burst");
      const id = away.id;
      const before = (await away.call("whoami")) as WhoAmI;
      expect(before.recovered).toBe(false);

      await drop(away);
      await sender.call("burst", room, 100);
      await reconnect(away);
      expect(away.id).toBe(id);
      expect(away.socket.recovered).toBe(true);
      const after = (await away.call("whoami")) as WhoAmI;
      expect(after).toMatchObject({
        id,
        recovered: true,
        rooms: [id, room].sort(),
        // Changed by a `disconnecting` listener, kept with the session.
        data: { name: "away", score: 7, drops: 1 },
      });
      // The adapter announced its rooms again (for tools such as the admin UI).
      expect(((await away.call("joins-of", id)) as string[]).sort()).toEqual(
        [id, id, room, room].sort(),
      );
      // A new broadcast comes after every missed one.
      await sender.call("burst", room, 1);
      await waitUntil(
        async () => bursts(away).length,
        (n) => n >= 102,
        { timeoutMs: 10_000, intervalMs: 50, what: "every burst" },
      );
      await sleep(200);
      expect(bursts(away)).toEqual([0, ...range(100), 0]);
      expectOffsets(away);
    });
  }

  it("the object is evicted while the client is away: it comes back with everything it missed", {
    timeout: 90_000,
  }, async () => {
    const room = `evict-${uid()}`;
    const away = await clients.connect("recover", "/", {
      transports: ["websocket"],
      auth: { name: "far" },
    });
    await away.next("welcome");
    await away.call("join", room);
    const sender = await clients.connect("recover", "/", { transports: ["websocket"] });
    await sender.call("burst", room, 1);
    await away.next("burst");
    const id = away.id;
    await drop(away);
    await sender.call("burst", room, 100);
    sender.socket.disconnect();
    const wakes = (await stats("recover")).wakes;
    // Away for 25 s: wrangler dev evicts an idle object after 10 to 15 s.
    await sleep(25_000);
    await reconnect(away, 15_000);
    expect((await stats("recover")).wakes).toBeGreaterThan(wakes);
    expect(away.id).toBe(id);
    expect(away.socket.recovered).toBe(true);
    await waitUntil(
      async () => bursts(away).length,
      (n) => n >= 101,
      { timeoutMs: 10_000, intervalMs: 50, what: "every burst" },
    );
    expect(bursts(away)).toEqual([0, ...range(100)]);
    expect(((await away.call("whoami")) as WhoAmI).rooms).toEqual([id, room].sort());
  });

  it("a socket revived after an eviction keeps its pid: it drops, and comes back with what it missed", {
    timeout: 90_000,
  }, async () => {
    const { room, away, sender, id } = await inRoom(clients, "recover", "woken");
    const wakes = (await stats("recover")).wakes;
    // Idle until wrangler dev evicts the object (before the first ping, 25 s after the
    // handshake); the sockets stay open, hibernated.
    await sleep(20_000);
    await drop(away);
    await sender.call("burst", room, 20);
    await reconnect(away);
    expect((await stats("recover")).wakes).toBeGreaterThan(wakes);
    expect(away.id).toBe(id);
    expect(away.socket.recovered).toBe(true);
    await waitUntil(
      async () => bursts(away).length,
      (n) => n >= 21,
      { timeoutMs: 10_000, intervalMs: 50, what: "every burst" },
    );
    expect(bursts(away)).toEqual([0, ...range(20)]);
  });

  it("a client that disconnected itself gets a new socket", async () => {
    const { room, away: c, sender, id } = await inRoom(clients, "recover", "bye");
    c.socket.disconnect();
    await sender.call("burst", room, 3);
    await reconnect(c);
    expect(c.id).not.toBe(id);
    expect(c.socket.recovered).toBe(false);
    await sleep(300);
    expect(bursts(c)).toEqual([0]);
  });

  it("a server disconnect is final too", async () => {
    const { away: c, id } = await inRoom(clients, "recover", "kick");
    const n = c.count("disconnect");
    c.socket.emit("disconnect-me", false);
    await more(c, "disconnect", n, 5_000);
    expect(c.history.filter((e) => e.event === "disconnect").at(-1)?.args[0]).toBe(
      "io server disconnect",
    );
    await reconnect(c);
    expect(c.id).not.toBe(id);
    expect(c.socket.recovered).toBe(false);
  });
});

describe("connection state recovery on /recover-short/ (3 s window, middlewares again)", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  it("within the window the middlewares run again; after it, a new socket, and the storage empties", {
    timeout: 60_000,
  }, async () => {
    const { room, away: c, sender, id } = await inRoom(clients, "recover-short", "short");
    expect(await c.call("middleware-runs")).toBe(1);
    await drop(c);
    await sender.call("burst", room, 2);
    await reconnect(c);
    expect(c.id).toBe(id);
    expect(c.socket.recovered).toBe(true);
    // skipMiddlewares: false.
    expect(await c.call("middleware-runs")).toBe(2);
    await waitUntil(
      async () => bursts(c).length,
      (n) => n >= 3,
      { timeoutMs: 5_000, intervalMs: 50, what: "the missed bursts" },
    );
    expect(bursts(c)).toEqual([0, 0, 1]);

    // Away longer than the window.
    await drop(c);
    await sleep(4_500);
    await reconnect(c);
    expect(c.id).not.toBe(id);
    expect(c.socket.recovered).toBe(false);

    // Once every window has passed (and the alarm came), nothing is left.
    c.socket.disconnect();
    sender.socket.disconnect();
    await waitUntil(
      () => stats("recover-short"),
      (s) => s.recovery?.packets === 0 && s.recovery.sessions === 0 && s.recovery.pids === 0,
      { timeoutMs: 20_000, intervalMs: 500, what: "empty recovery storage" },
    );
  });
});

describe("connection state recovery on /shard-recover/ (4 shards)", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  it("a client comes back to whichever shard its new session lands on, with everything it missed", {
    timeout: 90_000,
  }, async () => {
    const { room, away, sender, id } = await inRoom(clients, "shard-recover", "moving", { n: 1 });
    const shardOf = async (): Promise<number> =>
      ((await away.call("where")) as { shard: number }).shard;
    let shard = await shardOf();
    let expected = [0];
    let moves = 0;
    // New sessions go to a random shard: cycles until the socket moved twice (a second
    // move starts from a shard the socket only arrived at), bounded.
    for (let cycle = 0; moves < 2; cycle++) {
      expect(cycle, "cycles before two moves between shards").toBeLessThan(40);
      await drop(away);
      await sender.call("burst", room, 10);
      // The broadcast reaches the other shards over RPC after the sender's ack.
      await sleep(300);
      await reconnect(away);
      expected = [...expected, ...range(10)];
      expect(away.id).toBe(id);
      expect(away.socket.recovered).toBe(true);
      await waitUntil(
        async () => bursts(away).length,
        (n) => n >= expected.length,
        { timeoutMs: 10_000, intervalMs: 50, what: `the missed bursts of cycle ${cycle}` },
      );
      const now = await shardOf();
      if (now !== shard) moves++;
      shard = now;
      expect(await away.call("whoami")).toMatchObject({
        id,
        recovered: true,
        rooms: [id, room].sort(),
        data: { n: 1 },
      });
    }
    await sleep(300);
    expect(bursts(away)).toEqual(expected);
  });
});

describe("connection state recovery across a restart of wrangler dev (a deploy)", () => {
  const clients = new Clients();
  let dev: WranglerDev | undefined;
  let persistTo = "";
  afterAll(async () => {
    await clients.closeAll();
    await dev?.stop();
    if (persistTo) fs.rmSync(persistTo, { recursive: true, force: true });
  });

  async function start(port: number): Promise<WranglerDev> {
    return startWranglerDev({
      config: "test/fixture/wrangler.jsonc",
      port,
      persistTo,
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      ready: { path: "/__health", body: "ok", timeoutMs: 90_000 },
    });
  }

  it("clients come back to the new process with their ids and rooms and miss nothing", {
    timeout: 150_000,
  }, async () => {
    persistTo = fs.mkdtempSync(path.join(os.tmpdir(), "recovery-restart-"));
    const port = await freePort();
    dev = await start(port);
    const base = dev.url;
    const room = `deploy-${uid()}`;
    const options = (mode: Mode): ClientOptions => ({ base, transports: mode.transports });
    // With recovery on, polling sockets are stored too.
    const modes = MODES;
    const list: Client[] = [];
    for (const mode of modes) {
      const c = await clients.connect("recover", "/", options(mode));
      await c.next("welcome");
      await settled(c, mode, 10_000);
      await c.call("join", room);
      await c.call("set-data", { mode: mode.name });
      list.push(c);
    }
    const first = list[0] as Client;
    await first.call("burst", room, 1);
    await Promise.all(list.map((c) => c.next("burst")));
    const ids = list.map((c) => c.id);

    const counts = list.map((c) => c.count("disconnect"));
    await dev.stop();
    await Promise.all(list.map((c, i) => more(c, "disconnect", counts[i] ?? 0, 15_000)));
    dev = await start(port);
    // The new process: another client broadcasts to the room while they are away.
    const sender = await clients.connect("recover", "/", options(MODES[0] as Mode));
    await sender.call("burst", room, 50);
    for (const c of list) await reconnect(c, 20_000);
    expect(list.map((c) => c.id)).toEqual(ids);
    for (const [i, c] of list.entries()) {
      expect(c.socket.recovered).toBe(true);
      expect(await c.call("whoami")).toMatchObject({
        id: ids[i],
        recovered: true,
        rooms: [ids[i], room].sort(),
        data: { mode: modes[i]?.name },
      });
    }
    await waitUntil(
      async () => list.map((c) => bursts(c).length),
      (n) => n.every((x) => x >= 51),
      { timeoutMs: 10_000, intervalMs: 50, what: "the missed bursts" },
    );
    for (const c of list) expect(bursts(c)).toEqual([0, ...range(50)]);
  });
});
