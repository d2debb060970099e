// A change of the shard count while connections stay open (`/shard/?partition=..`, a
// partition whose count the client's query states, standing in for the router of a
// new deploy; see test/e2e/README.md). After a shrink, the shards beyond the new
// count get no new sessions; their open WebSockets keep working and keep receiving
// broadcasts, their polling sessions reconnect to the remaining shards, and once the
// last of their sessions has closed, broadcasts stop going to them.
import { afterAll, describe, expect, it } from "vitest";
import { baseUrl } from "../helpers/eio.js";
import { type Client, Clients, MODES, uid } from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";

const clients = new Clients();
afterAll(() => clients.closeAll());

interface Where {
  shard: number;
  id: string;
  server: string;
}

/** `stats()` of shard `shard` of the partition `name`. */
async function stats(name: string, shard: number): Promise<Record<string, number>> {
  const q = new URLSearchParams({ mount: "shard", name, shard: String(shard) });
  const r = await fetch(`${baseUrl()}/__stats?${q}`);
  return (await r.json()) as Record<string, number>;
}

/** From now on, every request of these clients states `shards` (a new router). */
function routeAll(list: Client[], shards: number): void {
  for (const c of list) {
    const engine = c.socket.io.engine as unknown as {
      opts: { query: Record<string, string> };
      transport: { query: Record<string, string> };
    };
    for (const query of [c.socket.io.opts.query, engine.opts.query, engine.transport.query]) {
      if (query && typeof query === "object") {
        (query as Record<string, string>).shards = String(shards);
      }
    }
  }
}

/** Waits until `c` has connected `n` times in all and is connected. */
function connectedTimes(c: Client, n: number): Promise<number> {
  return waitUntil(
    async () => c.count("connect"),
    (count) => count === n && c.socket.connected,
    { timeoutMs: 10_000, what: `connection ${n}` },
  );
}

/** Sends `event` from `sender` to `room` and checks every one of `members` gets it once. */
async function castReachesOnce(sender: Client, room: string, event: string, members: Client[]) {
  await sender.call("cast", { rooms: [room], event, args: [], self: true });
  await Promise.all(members.map((c) => c.next(event, 5_000)));
  await new Promise((r) => setTimeout(r, 300));
  for (const c of members) expect(c.count(event)).toBe(1);
}

describe("the shard count shrinks from 4 to 2 and grows back, with connections open", () => {
  const partition = `count-${uid()}`;
  const room = `all-${partition}`;

  /** A client of the partition that reconnects by itself, as apps' clients do. */
  function connect(shards: number, i: number): Promise<Client> {
    const mode = MODES[i % MODES.length] ?? MODES[0];
    return clients.connect("shard", "/", {
      transports: mode?.transports,
      query: { partition, shards: String(shards) },
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
  }

  /** Connects clients in batches until `enough(shards of the clients so far)`. */
  async function connectUntil(
    shards: number,
    enough: (counts: number[]) => boolean,
  ): Promise<Map<Client, number>> {
    const shardOf = new Map<Client, number>();
    const counts = [0, 0, 0, 0];
    while (!enough(counts)) {
      expect(shardOf.size).toBeLessThan(120);
      const batch = await Promise.all(
        Array.from({ length: 12 }, (_, i) => connect(shards, shardOf.size + i)),
      );
      for (const c of batch) {
        const { shard } = await c.call<Where>("where");
        shardOf.set(c, shard);
        counts[shard] = (counts[shard] ?? 0) + 1;
        await c.call("join", [room]);
      }
    }
    return shardOf;
  }

  it("keeps or cleanly reconnects every session, and broadcasts reach everyone", {
    timeout: 90_000,
  }, async () => {
    // Sessions go to random shards: connect until every shard holds some of each kind.
    const shardOf = await connectUntil(4, (counts) => counts.every((n) => n >= 3));
    const list = [...shardOf.keys()];
    const before = new Map(list.map((c) => [c, c.id]));
    const movers = list.filter((c) => (shardOf.get(c) ?? 0) >= 2);
    const stayers = list.filter((c) => (shardOf.get(c) ?? 0) < 2);
    const polling = movers.filter((c) => c.transport === "polling");
    const open = movers.filter((c) => c.transport !== "polling");
    expect(open.length).toBeGreaterThan(0);

    // From now on the router says 2, for every request of every client.
    routeAll(list, 2);
    const newcomer = await connect(2, 0);
    await newcomer.call("join", [room]);
    const where = await newcomer.call<Where>("where");
    expect(where.shard).toBeLessThan(2);
    // The object knows the server's name (the partition), on whichever shard.
    expect(where.server).toBe(partition);

    // The polling sessions of shards 2 and 3: their next request goes to shard 0,
    // which does not know them (400): they reconnect, to shard 0 or 1.
    await Promise.all(polling.map((c) => connectedTimes(c, 2)));
    for (const c of polling) {
      expect(c.id).not.toBe(before.get(c));
      expect((await c.call<Where>("where")).shard).toBeLessThan(2);
      await c.call("join", [room]);
    }
    // The WebSockets of shards 2 and 3, and every session of shards 0 and 1, stay.
    for (const c of [...open, ...stayers]) {
      expect(c.count("disconnect")).toBe(0);
      expect(c.id).toBe(before.get(c));
    }
    expect(await stats(partition, 0)).toMatchObject({ shards: 4, shardsRouted: 2 });

    // Broadcasts from the remaining shards and from a draining one reach everyone once.
    const members = [...list, newcomer];
    const senders = [0, 1].map((s) => stayers.find((c) => shardOf.get(c) === s) as Client);
    await castReachesOnce(senders[0] as Client, room, "from-0", members);
    await castReachesOnce(senders[1] as Client, room, "from-1", members);
    await castReachesOnce(open[0] as Client, room, "from-draining", members);

    // Once their last sessions have closed, shards 2 and 3 are left out.
    for (const c of open) c.socket.disconnect();
    const still = members.filter((c) => !open.includes(c));
    await waitUntil(
      () => Promise.all([0, 1].map((k) => stats(partition, k))),
      (all) => all.every((x) => x.shards === 2 && x.shardsRouted === 2),
      { timeoutMs: 10_000, what: "shards 0 and 1 reaching 2" },
    );
    for (const k of [2, 3]) expect((await stats(partition, k)).clientsCount).toBe(0);
    await castReachesOnce(senders[1] as Client, room, "after-drain", still);

    // Back to 4: new sessions reach shards 2 and 3 again, and every shard's broadcasts
    // reach them (the other shards learn the count from shard 0).
    routeAll(still, 4);
    const drops = new Map(still.map((c) => [c, c.count("disconnect")]));
    const grown = await connectUntil(4, (counts) => (counts[2] ?? 0) > 0 && (counts[3] ?? 0) > 0);
    await waitUntil(
      () => Promise.all([0, 1, 2, 3].map((k) => stats(partition, k))),
      (all) => all.every((x) => x.shards === 4 && x.shardsRouted === 4),
      { timeoutMs: 5_000, what: "every shard told 4" },
    );
    const everyone = [...still, ...grown.keys()];
    await castReachesOnce(senders[1] as Client, room, "grown", everyone);
    const onThree = [...grown].find(([, s]) => s === 3)?.[0] as Client;
    await castReachesOnce(onThree, room, "grown-3", everyone);
    for (const c of everyone) expect(c.count("disconnect")).toBe(drops.get(c) ?? 0);
  });
});
