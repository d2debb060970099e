// The life of a sharded server (see test/e2e/README.md) beyond one running process:
//
// - `/shard-hib/` (4 shards, Socket.IO's default heartbeat): every shard is evicted by
//   `wrangler dev` while its clients are idle, then a burst of broadcasts from one shard
//   wakes the others over RPC, and every member gets every message once and in order.
// - `/shard/` under wrangler dev processes of this file's own, one after the other over
//   the same persisted storage, with `SHARDS` 4, then 2, then 4 again (a deploy that
//   changes the shard count): the clients reconnect by themselves to the new process and
//   land on the shards that exist now, and broadcasts and queries reach all of them.
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

interface ShardStats {
  clientsCount: number;
  shard: number;
  shards: number;
  shardsRouted: number;
  wakes: number;
  storedSockets: number;
}

interface Where {
  shard: number;
  id: string;
}

/** `stats()` of shard `shard` of a sharded mount (an event for that object: it wakes it). */
async function stats(base: string, mount: SioMount, shard: number): Promise<ShardStats> {
  const result = await request(`${base}/__stats?mount=${mount}&shard=${shard}`);
  if (result.status !== 200) {
    throw new Error(`/__stats?mount=${mount}&shard=${shard} answered ${result.status}`);
  }
  return JSON.parse(result.body) as ShardStats;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** How many of `shardOf`'s clients are on each of `shards` shards. */
function spread(shardOf: Map<Client, number>, shards: number): number[] {
  const counts: number[] = Array(shards).fill(0);
  for (const shard of shardOf.values()) counts[shard] = (counts[shard] ?? 0) + 1;
  return counts;
}

/**
 * Makes sure no event sent to the clients before is still on its way: a round trip on
 * each client's own connection, after a pause for what comes from other shards.
 */
async function flush(list: Client[]): Promise<void> {
  await sleep(500);
  await Promise.all(
    list.map(async (c) => {
      const marker = `flush-${uid()}`;
      c.socket.emit("echo", marker);
      await c.next("echo", 15_000, (args) => args[0] === marker);
    }),
  );
}

/** The arguments of every `event` a client received, in order. */
function received(c: Client, event: string): unknown[][] {
  return c.history.filter((e) => e.event === event).map((e) => e.args);
}

describe("/shard-hib/: every shard evicted while idle, then woken by a broadcast", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  const SHARDS = 4;
  /** Idle time that lets wrangler dev evict the objects, still before the first ping. */
  const IDLE_MS = 20_000;
  /** The least idle time after which wrangler dev reliably evicts an object. */
  const MIN_IDLE_MS = 16_000;
  /** The heartbeat of `/shard-hib/` (Socket.IO's default). */
  const PING_INTERVAL = 25_000;
  /** Broadcasts sent in one burst after the idle window. */
  const MESSAGES = 20;
  /**
   * WebSocket clients only, connected directly or upgraded from polling: a long-polling
   * client always has a request waiting on its shard (a poll lasts up to a ping
   * interval), which keeps that object from being evicted.
   */
  const modes = MODES.filter((m) => m.settled === "websocket");

  it("a burst of broadcasts reaches every member on every shard once and in order, and queries still see everyone", {
    timeout: 90_000,
  }, async () => {
    const base = baseUrl();
    for (const shard of range(SHARDS)) {
      await waitUntil(
        () => stats(base, "shard-hib", shard),
        (s) => s.clientsCount === 0 && s.storedSockets === 0,
        { timeoutMs: 15_000, intervalMs: 250, what: `shard ${shard} of /shard-hib/ empty` },
      );
    }
    const tag = uid();
    const room = `hib-${tag}`;
    const shardOf = new Map<Client, number>();
    const firstHandshake = Date.now();
    const add = async (mode: Mode, i: number): Promise<void> => {
      const c = await clients.connect("shard-hib", "/", {
        transports: mode.transports,
        auth: { name: `${mode.name}-${i}` },
      });
      await c.next("welcome", 10_000);
      await settled(c, mode, 10_000);
      shardOf.set(c, (await c.call<Where>("where")).shard);
      await c.call("join", room);
    };
    // 32 clients, more while a shard has fewer than 2 (the router picks shards at random).
    await Promise.all(range(32).map((i) => add(modes[i % modes.length] as Mode, i)));
    for (let i = 32; Math.min(...spread(shardOf, SHARDS)) < 2; i += 4) {
      expect(i, `spread after ${i} clients: ${spread(shardOf, SHARDS)}`).toBeLessThan(80);
      await Promise.all(range(4).map((j) => add(modes[j % modes.length] as Mode, i + j)));
    }
    const list = [...shardOf.keys()];
    const counts = spread(shardOf, SHARDS);
    const before: ShardStats[] = [];
    for (const shard of range(SHARDS)) {
      before.push(
        await waitUntil(
          () => stats(base, "shard-hib", shard),
          (s) => s.storedSockets === counts[shard],
          { timeoutMs: 5_000, intervalMs: 100, what: `shard ${shard} storing its sockets` },
        ),
      );
    }
    expect(before.map((s) => s.clientsCount)).toEqual(counts);
    expect(before.map((s) => s.shards)).toEqual(Array(SHARDS).fill(SHARDS));

    // Completely idle (no client sends anything, no stats are read) until shortly before
    // the first ping.
    const setupMs = Date.now() - firstHandshake;
    const idleMs = Math.min(IDLE_MS, firstHandshake + PING_INTERVAL - 1_500 - Date.now());
    console.log(
      `[shards-lifecycle] ${list.length} clients on shards ${counts} in ${setupMs} ms, idle ${idleMs} ms`,
    );
    expect(idleMs, `setup took ${setupMs} ms: too slow to stay idle long enough`).toBeGreaterThan(
      MIN_IDLE_MS,
    );
    await sleep(idleMs);

    // The burst: MESSAGES broadcasts to the room, the sender included, sent back to back.
    const sender = list.find((c) => shardOf.get(c) === 0) as Client;
    const event = `seq-${tag}`;
    const acks = range(MESSAGES).map((i) =>
      sender.request("cast", { rooms: [room], event, args: [i, tag], self: true }),
    );
    expect(await Promise.all(acks)).toEqual(Array(MESSAGES).fill([]));
    await Promise.all(
      list.map((c) =>
        waitUntil(
          async () => c.count(event),
          (n) => n >= MESSAGES,
          {
            timeoutMs: 15_000,
            intervalMs: 50,
            what: `${MESSAGES} broadcasts on shard ${shardOf.get(c)}`,
          },
        ),
      ),
    );
    await flush(list);
    const expected = range(MESSAGES).map((i) => [i, tag]);
    for (const c of list) {
      expect(received(c, event), `what a client on shard ${shardOf.get(c)} received`).toEqual(
        expected,
      );
    }

    // Every shard started again since the stats before the idle window: the sender's by
    // its message, the others by the broadcast's RPC.
    const after: ShardStats[] = [];
    for (const shard of range(SHARDS)) after.push(await stats(base, "shard-hib", shard));
    for (const shard of range(SHARDS)) {
      expect(
        after[shard]?.wakes,
        `shard ${shard} was evicted during the idle window (wakes before: ${before[shard]?.wakes})`,
      ).toBeGreaterThan(before[shard]?.wakes ?? Number.POSITIVE_INFINITY);
    }
    expect(after.map((s) => s.clientsCount)).toEqual(counts);

    // A socket of each other shard, silent since the eviction, is revived from storage
    // with its room.
    for (const shard of range(SHARDS).slice(1)) {
      const c = list.find((x) => shardOf.get(x) === shard) as Client;
      expect(await c.call("whoami")).toMatchObject({
        id: c.id,
        recovered: true,
        rooms: [c.id, room].sort(),
      });
    }

    // Queries across the shards, from a shard other than the sender's.
    const asker = list.find((c) => shardOf.get(c) === 3) as Client;
    const ids = list.map((c) => c.id).sort();
    const fetched = (await asker.call("fetch", room)) as Array<{ id: string }>;
    expect(fetched.map((s) => s.id).sort()).toEqual(ids);
    for (const c of list)
      c.socket.on("question", (_q: string, ack: (a: string) => void) => ack(c.id));
    const polled = (await asker.call("poll-room", room, 5_000)) as {
      error: string | null;
      responses: string[];
    };
    expect(polled.error).toBeNull();
    expect(polled.responses.sort()).toEqual(ids);
  });
});

describe("/shard/: the shard count changed across restarts over the same storage (4 → 2 → 4)", () => {
  const clients = new Clients();
  let dev: WranglerDev | undefined;
  /** The storage every process of the test starts over (made when the test starts). */
  let persistTo = "";
  afterAll(async () => {
    await clients.closeAll();
    await dev?.stop();
    if (persistTo) fs.rmSync(persistTo, { recursive: true, force: true });
  });

  /** wrangler dev of the fixture with `SHARDS` = `shards`, on `port`, over `persistTo`. */
  async function start(port: number, shards: number): Promise<WranglerDev> {
    const started = Date.now();
    const instance = await startWranglerDev({
      config: "test/fixture/wrangler.jsonc",
      port,
      persistTo,
      args: ["--var", `SHARDS:${shards}`],
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      ready: { path: "/__health", body: "ok", timeoutMs: 90_000 },
    });
    console.log(
      `[shards-lifecycle] wrangler dev with ${shards} shards in ${Date.now() - started} ms`,
    );
    return instance;
  }

  it("clients reconnect to the shards that exist after each change; broadcasts and queries reach all of them", {
    timeout: 180_000,
  }, async () => {
    persistTo = fs.mkdtempSync(path.join(os.tmpdir(), "shards-restart-"));
    const port = await freePort();
    dev = await start(port, 4);
    const base = dev.url;
    /** Reconnects soon and often while the next process starts. */
    const options = (mode: Mode, name: string): ClientOptions => ({
      base,
      transports: mode.transports,
      auth: { name },
      reconnection: true,
      reconnectionDelay: 250,
      reconnectionDelayMax: 1_000,
      randomizationFactor: 0.2,
      timeout: 10_000,
    });
    const modeOf = new Map<Client, Mode>();
    const shardOf = new Map<Client, number>();
    /** Where each client is now (its current session). */
    const locate = async (list: Client[]): Promise<void> => {
      const where = await Promise.all(list.map((c) => c.call<Where>("where")));
      for (const [i, c] of list.entries()) {
        const w = where[i] as Where;
        expect(w.id).toBe(c.id);
        const sid = c.socket.io.engine.id;
        expect(w.shard === 0 ? !sid.includes(".") : sid.startsWith(`${w.shard}.`)).toBe(true);
        shardOf.set(c, w.shard);
      }
    };
    const add = async (mode: Mode, name: string): Promise<Client> => {
      const c = await clients.connect("shard", "/", options(mode, name));
      await c.next("welcome", 10_000);
      await settled(c, mode, 10_000);
      modeOf.set(c, mode);
      await locate([c]);
      return c;
    };
    /** New clients in every mode, until each of `shards` shards has one (bounded). */
    const fill = async (shards: number, label: string): Promise<void> => {
      for (let round = 0; Math.min(...spread(shardOf, shards)) < 1; round++) {
        expect(round, `spread: ${spread(shardOf, shards)}`).toBeLessThan(10);
        await Promise.all(MODES.map((m) => add(m, `${label}-${round}-${m.name}`)));
      }
    };
    /** A broadcast to everyone from one client: each client gets it exactly once. */
    const broadcast = async (from: Client): Promise<void> => {
      const event = `all-${uid()}`;
      const list = [...modeOf.keys()];
      await from.call("cast", { event, args: [event], self: true });
      await Promise.all(list.map((c) => c.next(event, 15_000)));
      await flush(list);
      expect(list.map((c) => c.count(event))).toEqual(Array(list.length).fill(1));
    };
    /** Every socket of the server, by fetchSockets from one client, is one of ours. */
    const fetchAll = async (from: Client): Promise<void> => {
      const list = [...modeOf.keys()];
      const fetched = (await from.call("fetch", null)) as Array<{ id: string }>;
      expect(fetched.map((s) => s.id).sort()).toEqual(list.map((c) => c.id).sort());
      // The emitter, from a fetch route, learns the shard count from shard 0.
      const r = await fetch(`${base}/__emit`, {
        method: "POST",
        body: JSON.stringify({ op: "fetch" }),
        signal: AbortSignal.timeout(10_000),
      });
      const outside = (await r.json()) as Array<{ id: string; shard: number }>;
      expect(outside.map((s) => `${s.id}@${s.shard}`).sort()).toEqual(
        list.map((c) => `${c.id}@${shardOf.get(c)}`).sort(),
      );
    };
    /** Stops the process, starts the next with `shards`, waits for every client to return. */
    const restart = async (shards: number): Promise<void> => {
      const list = [...modeOf.keys()];
      const connects = new Map(list.map((c) => [c, c.count("connect")]));
      const oldIds = new Map(list.map((c) => [c, c.id]));
      await dev?.stop();
      await waitUntil(
        async () => list.filter((c) => c.socket.connected).length,
        (n) => n === 0,
        { timeoutMs: 15_000, intervalMs: 100, what: "every client disconnected" },
      );
      dev = await start(port, shards);
      const back = Date.now();
      await waitUntil(
        async () => list.filter((c) => c.count("connect") > (connects.get(c) ?? 0)).length,
        (n) => n === list.length,
        { timeoutMs: 40_000, intervalMs: 100, what: "every client connected again" },
      );
      console.log(
        `[shards-lifecycle] ${list.length} clients back on ${shards} shards ${Date.now() - back} ms after the start`,
      );
      await Promise.all(
        list.map(async (c) => {
          await c.next("welcome", 10_000, (args) => (args[0] as { id: string }).id === c.id);
          await settled(c, modeOf.get(c) as Mode, 10_000);
          expect(c.id).not.toBe(oldIds.get(c));
        }),
      );
      await locate(list);
    };
    const expectShards = async (shards: number, empty: number[]): Promise<void> => {
      // Shard 0 settles a change after the request that brought it: wait for it.
      for (const shard of range(shards)) {
        const s = await waitUntil(
          () => stats(base, "shard", shard),
          (x) => x.shards === shards,
          { timeoutMs: 5_000, what: `shard ${shard} reaching ${shards} shards` },
        );
        expect(s.shard).toBe(shard);
        expect(s.shardsRouted).toBe(shards);
      }
      // The shards beyond the count keep no session (their objects still exist, with what
      // they stored before).
      for (const shard of empty) {
        const s = await stats(base, "shard", shard);
        expect(s.clientsCount, `sessions on shard ${shard}`).toBe(0);
      }
    };

    // 4 shards: 8 clients per mode, more until every shard has one.
    await Promise.all(
      MODES.flatMap((mode) => range(8).map((i) => add(mode, `first-${mode.name}-${i}`))),
    );
    await fill(4, "first");
    expect(Math.min(...spread(shardOf, 4))).toBeGreaterThan(0);
    await expectShards(4, []);
    await broadcast([...modeOf.keys()][0] as Client);
    await fetchAll([...modeOf.keys()][1] as Client);

    // 2 shards over the same storage: every client back on shard 0 or 1.
    await restart(2);
    expect(
      [...shardOf.values()].every((s) => s === 0 || s === 1),
      `shards after the change: ${spread(shardOf, 4)}`,
    ).toBe(true);
    const fresh = await add(MODES[2] as Mode, "fresh-after-2");
    expect([0, 1]).toContain(shardOf.get(fresh));
    await fill(2, "after-2");
    await expectShards(2, [2, 3]);
    const list2 = [...modeOf.keys()];
    await broadcast(list2.find((c) => shardOf.get(c) === 1) as Client);
    await fetchAll(list2.find((c) => shardOf.get(c) === 0) as Client);

    // 4 shards again: shards 2 and 3 get new sessions; what they stored in the first
    // process belongs to sessions that are gone.
    await restart(4);
    await fill(4, "after-4");
    await expectShards(4, []);
    const list4 = [...modeOf.keys()];
    await broadcast(list4.find((c) => shardOf.get(c) === 3) as Client);
    await fetchAll(list4.find((c) => shardOf.get(c) === 2) as Client);
    const acked = (await (list4.find((c) => shardOf.get(c) === 1) as Client).call(
      "server-side",
      2_000,
    )) as { responses: Array<{ shard: number }> };
    expect(acked.responses.map((r) => r.shard).sort()).toEqual([0, 2, 3]);
  });
});
