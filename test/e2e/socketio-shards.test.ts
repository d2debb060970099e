// One server on 4 shards (`/shard/`, see test/e2e/README.md): real socket.io-client
// clients spread over the shards by the router, in the three transport modes, and the
// emitter (`socketIo(env.SHARDED)`) from the fixture's plain fetch route `/__emit`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl, request } from "../helpers/eio.js";
import { bytes, type Client, Clients, MODES, uid } from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";

const clients = new Clients();
afterAll(() => clients.closeAll());

const PER_MODE = 36;
const SHARDS = 4;

/** What the emitter route answers. */
async function emitter(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await fetch(`${baseUrl()}/__emit`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return (await r.json()) as Record<string, unknown>;
}

describe("4 shards, 108 clients over websocket, polling and upgrade", () => {
  const tag = uid();
  const room = `all-${tag}`;
  let list: Client[] = [];
  let shardOf = new Map<string, number>();

  beforeAll(async () => {
    list = await Promise.all(
      MODES.flatMap((mode) =>
        Array.from({ length: PER_MODE }, (_, i) =>
          clients.connect("shard", "/", {
            transports: mode.transports,
            auth: { name: `${mode.name}-${i}` },
          }),
        ),
      ),
    );
    await Promise.all(list.map((c) => c.next("welcome", 15_000)));
    const where = await Promise.all(
      list.map((c) => c.call<{ shard: number; id: string; server: string }>("where")),
    );
    shardOf = new Map(where.map((w) => [w.id, w.shard]));
    // Every shard knows the server's name (`this.name`), not its own object name.
    expect(new Set(where.map((w) => w.server))).toEqual(new Set(["default"]));
    await Promise.all(list.map((c) => c.call("join", [room])));
  }, 60_000);

  it("spreads the sessions over every shard, each session id naming its shard", () => {
    const counts = Array(SHARDS).fill(0);
    for (const shard of shardOf.values()) counts[shard]++;
    for (const n of counts) expect(n).toBeGreaterThan(0);
    for (const c of list) {
      const sid = c.socket.io.engine.id;
      const shard = shardOf.get(c.id) ?? -1;
      expect(shard === 0 ? !sid.includes(".") : sid.startsWith(`${shard}.`)).toBe(true);
    }
  });

  it("refuses a session id routed to another shard as unknown (400, code 1)", async () => {
    const c = list.find((x) => x.transport === "polling" && (shardOf.get(x.id) ?? 0) > 0);
    expect(c).toBeDefined();
    const sid = (c as Client).socket.io.engine.id;
    const forged = `${((shardOf.get((c as Client).id) ?? 1) % (SHARDS - 1)) + 1}.${sid.split(".")[1]}`;
    const base = `${baseUrl()}/shard/?EIO=4&transport=polling`;
    for (const other of [forged === sid ? `0${sid}` : forged, sid.split(".")[1] as string]) {
      const r = await request(`${base}&sid=${encodeURIComponent(other)}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ code: 1, message: "Session ID unknown" });
    }
  });

  it("a room broadcast from one shard reaches every member on every shard exactly once", async () => {
    const senders = [0, 1, 2, 3].map((s) => list.find((c) => shardOf.get(c.id) === s) as Client);
    for (const [i, sender] of senders.entries()) {
      await sender.call("cast", { rooms: [room], event: `b${i}`, args: [i, tag], self: true });
    }
    // socket.broadcast (all but the sender), with binary data.
    await senders[1]?.call("cast", { event: "bin", args: [new Uint8Array([1, 2, 3])] });
    for (const [i] of senders.entries()) {
      await Promise.all(list.map((c) => c.next(`b${i}`, 15_000)));
    }
    await Promise.all(list.filter((c) => c !== senders[1]).map((c) => c.next("bin", 15_000)));
    await flush(list);
    for (const [i] of senders.entries())
      expect(list.map((c) => c.count(`b${i}`))).toEqual(Array(list.length).fill(1));
    expect(senders[1]?.count("bin")).toBe(0);
  }, 60_000);

  it("fetchSockets, acks with a timeout, socketsJoin/Leave and local cover every shard", async () => {
    const asker = list[0] as Client;
    const fetched = (await asker.call("fetch", room)) as Array<{
      id: string;
      data: { name: string };
    }>;
    expect(fetched.map((s) => s.id).sort()).toEqual(list.map((c) => c.id).sort());
    expect(fetched.every((s) => typeof s.data.name === "string")).toBe(true);

    for (const c of list)
      c.socket.on("question", (_q: string, ack: (a: string) => void) => ack(c.id));
    const polled = (await asker.call("poll-room", room, 5_000)) as {
      error: null;
      responses: string[];
    };
    expect(polled.error).toBeNull();
    expect(polled.responses.sort()).toEqual(list.map((c) => c.id).sort());

    const extra = `extra-${tag}`;
    await asker.call("sockets-join", room, extra);
    const count = async () => ((await asker.call("fetch", extra)) as unknown[]).length;
    await waitUntil(count, (n) => n === list.length, { timeoutMs: 10_000 });
    await asker.call("sockets-leave", room, extra);
    await waitUntil(count, (n) => n === 0, { timeoutMs: 10_000 });

    const local = (await asker.call("local-fetch")) as string[];
    const mine = shardOf.get(asker.id);
    expect(local.sort()).toEqual(
      list
        .filter((c) => shardOf.get(c.id) === mine)
        .map((c) => c.id)
        .sort(),
    );
  }, 60_000);

  it("serverSideEmit reaches the listeners of every other shard, with one answer each", async () => {
    const asker = list.find((c) => shardOf.get(c.id) === 2) as Client;
    const r = (await asker.call("server-side", 2_000)) as {
      responses: Array<{ shard: number; from: string; bytes: unknown }>;
    };
    expect(r.responses.map((x) => x.shard).sort()).toEqual([0, 1, 3]);
    expect(r.responses.every((x) => x.from === "2")).toBe(true);
    // Binary data in an answer arrives as binary data.
    for (const x of r.responses) expect(bytes(x.bytes)).toEqual([x.shard, 255]);
  });

  it("the emitter from a fetch route: emit, emitWithAck, fetchSockets, serverSideEmitWithAck", async () => {
    expect(await emitter({ op: "emit", rooms: [room], event: "news", args: [tag] })).toEqual({
      ok: true,
    });
    await Promise.all(list.map((c) => c.next("news", 15_000)));
    const acked = (await emitter({
      op: "emitWithAck",
      rooms: [room],
      event: "question",
      args: ["?"],
      timeout: 5_000,
    })) as { responses: string[] };
    expect(acked.responses.sort()).toEqual(list.map((c) => c.id).sort());
    const fetched = (await emitter({ op: "fetch", rooms: [room] })) as unknown as Array<{
      id: string;
      shard: number;
    }>;
    expect(fetched.map((s) => `${s.id}@${s.shard}`).sort()).toEqual(
      list.map((c) => `${c.id}@${shardOf.get(c.id)}`).sort(),
    );
    const ss = (await emitter({
      op: "serverSideEmitWithAck",
      event: "who",
      args: ["outside"],
    })) as { responses: Array<{ shard: number }> };
    expect(ss.responses.map((x) => x.shard).sort()).toEqual([0, 1, 2, 3]);
    expect(await emitter({ op: "emit", event: "disconnect" })).toHaveProperty("error");
  }, 60_000);

  it("disconnectSockets from the emitter closes the room's sockets on every shard", async () => {
    const victims = list.filter((_, i) => i % 9 === 0);
    const doomed = `doomed-${tag}`;
    await Promise.all(victims.map((c) => c.call("join", [doomed])));
    expect(await emitter({ op: "disconnect", rooms: [doomed], close: true })).toEqual({ ok: true });
    await Promise.all(victims.map((c) => c.next("disconnect", 15_000)));
    const left = (await (list.find((c) => !victims.includes(c)) as Client).call(
      "fetch",
      room,
    )) as unknown[];
    expect(left.length).toBe(list.length - victims.length);
  }, 60_000);
});

describe("dynamic namespaces on 4 shards", () => {
  it("a dynamic namespace exists on every shard its clients reach, and broadcasts to it cross shards", async () => {
    const nsp = `/dyn-${uid()}`;
    // Multiplexed: "/" says which shard the connection is on, nsp is the namespace.
    const pairs: { main: Client; dyn: Client }[] = [];
    const seen = new Set<number>();
    while (seen.size < 3) {
      expect(pairs.length).toBeLessThan(48);
      const batch = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const manager = clients.manager("shard", { transports: ["websocket"] });
          const main = clients.socketOf(manager, "/");
          const dyn = clients.socketOf(manager, nsp);
          await Promise.all([main.connected(), dyn.connected()]);
          await dyn.next("welcome");
          return { main, dyn };
        }),
      );
      for (const p of batch) {
        pairs.push(p);
        seen.add((await p.main.call<{ shard: number }>("where")).shard);
      }
    }
    const dyns = pairs.map((p) => p.dyn);
    // The parent namespace's broadcast, from one shard, reaches the child on every shard.
    (dyns[0] as Client).socket.emit("parent-cast", "from-parent");
    const got = await Promise.all(dyns.map((c) => c.next1("from-parent", 5_000)));
    expect(got.every((name) => name === nsp)).toBe(true);
    // The emitter reaches it too, and fetchSockets sees every socket of it.
    expect(await emitter({ op: "emit", nsp, event: "from-outside", args: [1] })).toEqual({
      ok: true,
    });
    await Promise.all(dyns.map((c) => c.next("from-outside", 5_000)));
    const fetched = (await emitter({ op: "fetch", nsp })) as unknown as { id: string }[];
    expect(fetched.map((x) => x.id).sort()).toEqual(dyns.map((c) => c.id).sort());
  }, 60_000);
});

async function flush(list: Client[]): Promise<void> {
  await Promise.all(
    list.map(async (c) => {
      if (!c.socket.connected) return;
      const marker = `flush-${uid()}`;
      c.socket.emit("echo", marker);
      await c.next("echo", 15_000, (args) => args[0] === marker);
    }),
  );
}
