// State across evictions, inside workerd. Each test talks to its own `/hib/` object
// over real WebSockets, then builds a new instance of the object's class over the same
// storage and hibernated WebSockets (`Incarnation`: what the runtime does on the first
// event after an eviction, with nothing left in memory) and drives it through its
// handlers, reading back what the clients receive and what the storage holds. Time is
// moved by making `Date.now()` return a later instant while an instance handles an
// event. The last test lets the runtime itself evict the object.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  alarmOf,
  atTime,
  attachmentOf,
  Incarnation,
  newObjectName,
  PING_INTERVAL,
  PING_SLACK,
  PING_TIMEOUT,
  parsePacket,
  rows,
  storedCounts,
  stubOf,
  WireClient,
} from "./wire.js";
import type { HibServer, SocketView } from "./worker.js";

const clients: WireClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function open(
  object: string,
  options?: Parameters<typeof WireClient.open>[1],
): Promise<WireClient> {
  const client = await WireClient.open(object, options);
  clients.push(client);
  return client;
}

/** The socket id of `client` in `nsp`. */
function idOf(client: WireClient, nsp = "/"): string {
  const id = client.ids.get(nsp);
  if (!id) throw new Error(`not connected to ${nsp}`);
  return id;
}

/** The events named `event` among the frames `client` received, not consumed. */
function eventsIn(frames: string[], event: string): unknown[][] {
  const out: unknown[][] = [];
  for (const frame of frames) {
    const p = parsePacket(frame);
    if (p?.type === 2 && (p.data as unknown[])[0] === event)
      out.push((p.data as unknown[]).slice(1));
  }
  return out;
}

function byId<T extends { id: string }>(list: T[]): T[] {
  return [...list].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

describe("Engine.IO sessions", () => {
  it("the sid and the heartbeat schedule are in the WebSocket's attachment; new instances keep pinging on it", async () => {
    const name = newObjectName("engine");
    const stub = stubOf(name);
    const before = Date.now();
    const a = await open(name);
    await a.connect("/");
    const after = Date.now();

    const att = await attachmentOf(stub, a.sid);
    expect(att?.sid).toBe(a.sid);
    expect(att?.pongDeadline).toBeUndefined();
    const firstPing = att?.nextPingAt ?? 0;
    expect(firstPing).toBeGreaterThanOrEqual(before + PING_INTERVAL);
    expect(firstPing).toBeLessThanOrEqual(after + PING_INTERVAL);
    expect(await alarmOf(stub)).toBe(firstPing);
    expect(await rows(stub, "SELECT id, sid, nsp FROM sio_sockets")).toEqual([
      { id: idOf(a), sid: a.sid, nsp: "/" },
    ]);

    // A first new instance: its alarm, before the ping is due, pings nobody and keeps the
    // schedule (the alarm is set again for the same instant).
    const first = await Incarnation.start(stub);
    await first.alarm(firstPing - PING_SLACK - 1_000);
    expect(await a.idle()).toEqual([]);
    expect(await attachmentOf(stub, a.sid)).toEqual(att);
    expect(await alarmOf(stub)).toBe(firstPing);
    expect((await first.stats()).clientsCount).toBe(1);

    // When the ping is due, it goes out; the pong deadline and the next ping are saved.
    await first.alarm(firstPing);
    expect(await a.next()).toBe("2");
    expect(await attachmentOf(stub, a.sid)).toEqual({
      sid: a.sid,
      nextPingAt: firstPing + PING_INTERVAL,
      pongDeadline: firstPing + PING_TIMEOUT,
    });
    expect(await alarmOf(stub)).toBe(firstPing + PING_TIMEOUT);

    // A second instance gets the pong: the deadline is cleared, the next ping is one
    // interval after the pong.
    const second = await Incarnation.start(stub);
    const pongAt = firstPing + 1_000;
    await second.message(a, "3", pongAt);
    expect(await attachmentOf(stub, a.sid)).toEqual({
      sid: a.sid,
      nextPingAt: pongAt + PING_INTERVAL,
    });

    // A third instance pings again when that ping is due; the session is still the same.
    const third = await Incarnation.start(stub);
    await third.alarm(pongAt + PING_INTERVAL);
    expect(await a.next()).toBe("2");
    expect((await attachmentOf(stub, a.sid))?.pongDeadline).toBe(
      pongAt + PING_INTERVAL + PING_TIMEOUT,
    );
    expect(await third.call(a, "/", "whoami")).toMatchObject({ id: idOf(a), recovered: true });
    expect(a.closeEvent).toBeNull();
    expect(await rows(stub, "SELECT value FROM sio_meta WHERE key = 'wakes'")).toEqual([
      { value: "4" },
    ]);
  });
});

describe("Socket.IO sockets", () => {
  it("each socket's id, namespace, engine session, rooms, data and handshake survive, in static and dynamic namespaces", async () => {
    const name = newObjectName("sockets");
    const stub = stubOf(name);
    const a = await open(name, {
      query: { room: "lobby", tag: ["x", "y"] },
      headers: {
        "X-Trace": "trace-1",
        "CF-Connecting-IP": "203.0.113.9",
        Origin: "https://app.example",
      },
    });
    await a.connect("/", { name: "alice", token: "t0k" });
    await a.connect("/admin", { role: "admin" });
    await a.connect("/dyn-x", { level: 3 });
    await a.connect("/fn-y");
    const nsps = ["/", "/admin", "/dyn-x", "/fn-y"];

    await a.call("/", "set-data", { name: "alice", score: 42, tags: ["a", "b"] });
    await a.call("/", "join", ["red", "blue"]);
    await a.call("/admin", "join", "ops");
    await a.call("/dyn-x", "join", ["dyn-room"]);
    await a.call("/fn-y", "set-data", { fn: true });

    const before = new Map<string, SocketView>();
    for (const nsp of nsps) before.set(nsp, (await a.call(nsp, "whoami")) as SocketView);
    const main = before.get("/") as SocketView;
    expect(main).toMatchObject({
      id: idOf(a),
      nsp: "/",
      data: { name: "alice", score: 42, tags: ["a", "b"] },
      recovered: false,
      rooms: ["blue", idOf(a), "red"].sort(),
    });
    expect(main.handshake).toMatchObject({
      auth: { name: "alice", token: "t0k" },
      query: { EIO: "4", transport: "websocket", object: name, room: "lobby", tag: ["x", "y"] },
      address: "203.0.113.9",
      secure: true,
      xdomain: true,
    });
    expect(main.handshake.headers["x-trace"]).toBe("trace-1");
    expect(main.handshake.url).toMatch(/^\/hib\/\?EIO=4&transport=websocket&/);
    expect(before.get("/dyn-x")?.handshake.auth).toEqual({ level: 3 });
    expect(before.get("/dyn-x")?.rooms).toEqual(["dyn-room", idOf(a, "/dyn-x")].sort());
    expect(before.get("/fn-y")?.data).toEqual({ fn: true });

    // Every socket is stored with its engine session and namespace.
    const stored = await rows<{ id: string; sid: string; nsp: string }>(
      stub,
      "SELECT id, sid, nsp FROM sio_sockets",
    );
    expect(byId(stored)).toEqual(byId(nsps.map((nsp) => ({ id: idOf(a, nsp), sid: a.sid, nsp }))));

    // A new instance answers on every namespace, with the same socket as before.
    const fresh = await Incarnation.start(stub);
    for (const nsp of nsps) {
      const view = (await fresh.call(a, nsp, "whoami")) as SocketView;
      expect(view, nsp).toEqual({ ...before.get(nsp), recovered: true });
    }
    // The app's connection listeners ran again for each revived socket.
    expect([...(await fresh.runs()).connections].sort()).toEqual(
      nsps.map((nsp) => idOf(a, nsp)).sort(),
    );
    // The dynamic child is attached to its parent again: an emit on the parent reaches it.
    await fresh.message(a, WireClient.emitFrame("/dyn-x", "parent-cast", "to-children"));
    expect((await a.event("/dyn-x", "to-children")).args).toEqual(["/dyn-x"]);

    // Changes made in the new instance are stored too, and seen by the next one.
    await fresh.call(a, "/", "set-data", { name: "alice", score: 43 });
    await fresh.call(a, "/", "join", "green");
    await fresh.call(a, "/", "leave", "blue");
    const next = await Incarnation.start(stub);
    expect(await next.call(a, "/", "whoami")).toEqual({
      ...main,
      recovered: true,
      data: { name: "alice", score: 43 },
      rooms: ["green", idOf(a), "red"].sort(),
    });
  });

  it("a parent namespace's emit after a wake reaches the children whose sockets have not spoken yet", async () => {
    const name = newObjectName("children");
    const stub = stubOf(name);
    const a = await open(name);
    const b = await open(name);
    await a.connect("/dyn-a");
    await b.connect("/dyn-b");
    const fresh = await Incarnation.start(stub);
    // `a` speaks first after the wake; `b` has not spoken since.
    await fresh.message(a, WireClient.emitFrame("/dyn-a", "parent-cast", "to-children"));
    expect((await a.event("/dyn-a", "to-children")).args).toEqual(["/dyn-a"]);
    expect((await b.event("/dyn-b", "to-children")).args).toEqual(["/dyn-a"]);
    expect(await storedCounts(stub)).toEqual({ sockets: 2, rooms: 0 });
  });
});

describe("the room index", () => {
  it("a broadcast after a wake reaches exactly the members of the room, from storage", async () => {
    const name = newObjectName("rooms");
    const stub = stubOf(name);
    const a = await open(name);
    const b = await open(name);
    const c = await open(name);
    for (const client of [a, b, c]) await client.connect("/");
    await a.connect("/admin");
    await a.call("/", "join", "red");
    await b.call("/", "join", ["red", "green"]);
    await c.call("/", "join", ["blue", "green"]);
    await a.call("/admin", "join", "red");
    await b.call("/", "set-data", { name: "bob" });
    expect(await storedCounts(stub)).toEqual({ sockets: 4, rooms: 6 });

    // Only `c` speaks after the wake; `a` and `b` are found through the stored index.
    const fresh = await Incarnation.start(stub);
    await fresh.message(c, WireClient.emitFrame("/", "cast", ["red"], "hello", "from-c"));
    expect((await a.event("/", "hello")).args).toEqual(["from-c"]);
    expect((await b.event("/", "hello")).args).toEqual(["from-c"]);
    expect(eventsIn(await c.idle(), "hello")).toEqual([]);
    // The same room name in another namespace is another room.
    expect(eventsIn(a.pending(), "hello")).toEqual([]);
    expect(
      a.pending().filter((f) => parsePacket(f)?.nsp === "/admin" && parsePacket(f)?.type === 2),
    ).toEqual([]);

    const [ia, ib, ic] = [idOf(a), idOf(b), idOf(c)];
    expect(await fresh.call(c, "/", "rooms-of-nsp")).toEqual({
      red: [ia, ib].sort(),
      green: [ib, ic].sort(),
      blue: [ic],
      [ia]: [ia],
      [ib]: [ib],
      [ic]: [ic],
    });
    expect(((await fresh.call(c, "/", "count")) as { engine: number }).engine).toBe(3);

    // A leave in the new instance is stored: the next instance's broadcast skips `b`.
    expect(await fresh.call(b, "/", "leave", "red")).toEqual([ib, "green"].sort());
    expect(await storedCounts(stub)).toEqual({ sockets: 4, rooms: 5 });
    const next = await Incarnation.start(stub);
    await next.message(c, WireClient.emitFrame("/", "cast", ["red", "blue"], "again"));
    expect((await a.event("/", "again")).args).toEqual([]);
    expect(eventsIn(await b.idle(), "again")).toEqual([]);
    expect(eventsIn(c.pending(), "again")).toEqual([]);
  });
});

describe("the sockets of a namespace", () => {
  it("fetchSockets() and namespace.sockets after a wake include the sockets that have not spoken yet", async () => {
    const name = newObjectName("fetch");
    const stub = stubOf(name);
    const a = await open(name);
    const b = await open(name);
    const c = await open(name);
    for (const client of [a, b, c]) await client.connect("/");
    await a.call("/", "join", "red");
    await b.call("/", "join", "red");
    await b.call("/", "set-data", { name: "bob" });
    const [ia, ib] = [idOf(a), idOf(b)];
    const expected = byId([
      { id: ia, rooms: [ia, "red"].sort(), data: { name: null } },
      { id: ib, rooms: [ib, "red"].sort(), data: { name: "bob" } },
    ]);
    expect(await c.call("/", "fetch", "red")).toEqual(expected);
    expect(await c.call("/", "count")).toEqual({ engine: 3, sockets: 3 });

    // Only `c` speaks after the wake.
    const fresh = await Incarnation.start(stub);
    expect(await fresh.call(c, "/", "fetch", "red")).toEqual(expected);
    expect(await fresh.call(c, "/", "count")).toEqual({ engine: 3, sockets: 3 });
  });
});

describe("acknowledgement ids", () => {
  it("ids the server chose before a wake are not used again after it", async () => {
    const name = newObjectName("acks");
    const stub = stubOf(name);
    const a = await open(name);
    await a.connect("/");
    await a.connect("/dyn-x");

    const ask = async (
      emit: (frame: string) => Promise<void>,
      nsp: string,
      question: string,
    ): Promise<number> => {
      await emit(WireClient.emitFrame(nsp, "ask", question));
      const { id, args } = await a.event(nsp, "question");
      expect(args).toEqual([question]);
      expect(id).not.toBeNull();
      return id as number;
    };
    const live = async (frame: string) => a.send(frame);

    const used = new Map<string, number[]>([
      ["/", []],
      ["/dyn-x", []],
    ]);
    for (let i = 0; i < 3; i++) used.get("/")?.push(await ask(live, "/", `q${i}`));
    used.get("/dyn-x")?.push(await ask(live, "/dyn-x", "dq"));
    // The answer to a server ack reaches its callback.
    const last = used.get("/")?.at(-1) as number;
    a.send(`43${last}["yes"]`);
    expect((await a.event("/", "answered")).args).toEqual(["yes"]);
    const reserved = await rows<{ key: string; value: string }>(
      stub,
      "SELECT key, value FROM sio_meta WHERE key LIKE 'ack:%' ORDER BY key",
    );
    expect(reserved.map((r) => r.key)).toEqual(["ack:/", "ack:/dyn-x"]);

    for (let wake = 0; wake < 2; wake++) {
      const fresh = await Incarnation.start(stub);
      const emit = (frame: string) => fresh.message(a, frame);
      for (const nsp of ["/", "/dyn-x"]) {
        const ids = used.get(nsp) as number[];
        const id = await ask(emit, nsp, `after-${wake}`);
        expect(id, `${nsp} after wake ${wake + 1}`).toBeGreaterThan(Math.max(...ids));
        ids.push(id);
        // The new id works: the answer reaches the new callback.
        await fresh.message(a, `43${nsp === "/" ? "" : `${nsp},`}${id}["ok-${wake}"]`);
        expect((await a.event(nsp, "answered")).args).toEqual([`ok-${wake}`]);
      }
    }
    for (const ids of used.values()) expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("the alarm across a wake", () => {
  it("a connection that missed its pong while the object slept is closed by the next instance's alarm, and its sockets leave", async () => {
    const name = newObjectName("timeout");
    const stub = stubOf(name);
    const silent = await open(name);
    const observer = await open(name);
    await silent.connect("/", { name: "silent" });
    await silent.call("/", "join", "red");
    await observer.connect("/");
    await observer.call("/", "join", "observers");
    expect(await storedCounts(stub)).toEqual({ sockets: 2, rooms: 2 });
    const due = Math.max(
      (await attachmentOf(stub, silent.sid))?.nextPingAt ?? 0,
      (await attachmentOf(stub, observer.sid))?.nextPingAt ?? 0,
    );

    // One instance pings both; only the observer answers (15 s later, so that its next
    // ping is not due when the silent one's deadline passes).
    const first = await Incarnation.start(stub);
    await first.alarm(due);
    expect(await silent.next()).toBe("2");
    expect(await observer.next()).toBe("2");
    const pongAt = due + 15_000;
    await first.message(observer, "3", pongAt);
    const deadline = (await attachmentOf(stub, silent.sid))?.pongDeadline as number;
    expect(deadline).toBe(due + PING_TIMEOUT);
    expect(await alarmOf(stub)).toBe(deadline);

    // The object is evicted; the next instance starts on the alarm, after the deadline.
    const second = await Incarnation.start(stub);
    await second.alarm(deadline + 1);
    expect(await silent.closed()).toMatchObject({ code: 1000, reason: "ping timeout" });
    // Its socket ran its `disconnecting` listener (revived for it) and left.
    const gone = await observer.event("/", "gone");
    expect(gone.args).toEqual([{ id: idOf(silent), reason: "ping timeout" }]);
    expect((await second.runs()).disconnects).toEqual([
      { id: idOf(silent), nsp: "/", reason: "ping timeout" },
    ]);
    expect(await rows(stub, "SELECT id FROM sio_sockets")).toEqual([{ id: idOf(observer) }]);
    expect(await rows(stub, "SELECT id, room FROM sio_rooms")).toEqual([
      { id: idOf(observer), room: "observers" },
    ]);
    // The observer, who answered, stays, and is pinged one interval after its pong.
    expect(await observer.idle()).toEqual([]);
    expect((await second.stats()).clientsCount).toBe(1);
    expect(await alarmOf(stub)).toBe(pongAt + PING_INTERVAL);
    const third = await Incarnation.start(stub);
    await third.alarm(pongAt + PING_INTERVAL);
    expect(await observer.next()).toBe("2");
    expect(observer.closeEvent).toBeNull();
  });

  it("every socket of a connection that timed out while the object slept runs its disconnect listeners, even when one of them broadcasts", async () => {
    const name = newObjectName("timeout-nsps");
    const stub = stubOf(name);
    const silent = await open(name);
    const observer = await open(name);
    const nsps = ["/", "/admin", "/dyn-x"];
    for (const nsp of nsps) await silent.connect(nsp);
    await observer.connect("/");
    await observer.call("/", "join", "observers");
    const due = (await attachmentOf(stub, silent.sid))?.nextPingAt as number;
    const first = await Incarnation.start(stub);
    await first.alarm(due);
    expect(await silent.next()).toBe("2");
    await first.message(observer, "3", due + 100);

    // The `disconnecting` listener of the `/` socket broadcasts to the observers.
    const second = await Incarnation.start(stub);
    await second.alarm(due + PING_TIMEOUT + 1);
    expect(await silent.closed()).toMatchObject({ reason: "ping timeout" });
    expect((await observer.event("/", "gone")).args).toEqual([
      { id: idOf(silent), reason: "ping timeout" },
    ]);
    expect(
      (await second.runs()).disconnects.map((d) => `${d.nsp} ${d.id} ${d.reason}`).sort(),
    ).toEqual(nsps.map((nsp) => `${nsp} ${idOf(silent, nsp)} ping timeout`).sort());
    expect(await storedCounts(stub)).toEqual({ sockets: 1, rooms: 1 });
  });

  it("a message on a connection whose pong deadline passed while the object slept closes it instead of being served", async () => {
    const name = newObjectName("late");
    const stub = stubOf(name);
    const a = await open(name);
    await a.connect("/");
    await a.call("/", "join", "red");
    const due = (await attachmentOf(stub, a.sid))?.nextPingAt as number;
    const first = await Incarnation.start(stub);
    await first.alarm(due);
    expect(await a.next()).toBe("2");

    const second = await Incarnation.start(stub);
    const { frame } = a.eventFrame("/", "whoami");
    await second.message(a, frame, due + PING_TIMEOUT + 1);
    expect(await a.closed()).toMatchObject({ reason: "ping timeout" });
    expect(a.pending().filter((f) => parsePacket(f)?.type === 3)).toEqual([]);
    expect(await storedCounts(stub)).toEqual({ sockets: 0, rooms: 0 });
    expect((await second.runs()).disconnects).toEqual([
      { id: idOf(a), nsp: "/", reason: "ping timeout" },
    ]);
  });
});

/** Storage counters of the live instance of `stub` (its statements and rows written). */
async function storageOf(
  stub: DurableObjectStub<HibServer>,
): Promise<{ queries: number; rowsWritten: number }> {
  const stats = await runInDurableObject(stub, (instance: HibServer) => instance.stats());
  return stats.storage as { queries: number; rowsWritten: number };
}

/** Statements and rows written between two `storageOf` readings. */
function spent(
  before: { queries: number; rowsWritten: number },
  after: { queries: number; rowsWritten: number },
): { queries: number; rowsWritten: number } {
  // `stats()` itself runs three counting queries after it reads the counters.
  return {
    queries: after.queries - before.queries - 3,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}

describe("room changes, written once per turn", () => {
  it("thousands of socket.join calls in one handler take one statement, and every room comes back after the runtime evicts the object", async () => {
    const name = newObjectName("many-joins");
    const stub = stubOf(name);
    const a = await open(name);
    const b = await open(name);
    await a.connect("/");
    await b.connect("/");
    const ia = idOf(a);
    // Names that must come back as they were (quotes, JSON, NUL, emoji, empty).
    const odd = [`q'u"o\\te`, '["not","json"]', "nul\u0000inside", "😀", "", "1"];
    const rooms = [...Array.from({ length: 3_000 }, (_, i) => `room-${i}`), ...odd];

    const before = await storageOf(stub);
    const acked = (await a.call(
      "/",
      "rooms",
      rooms.map((room) => ["join", room]),
    )) as string[];
    expect(acked).toEqual([ia, ...rooms].sort());
    expect(spent(before, await storageOf(stub)).queries).toBe(1);
    const stored = await rows<{ room: string }>(
      stub,
      "SELECT room FROM sio_rooms WHERE id = ? ORDER BY room",
      ia,
    );
    expect(stored.map((r) => r.room)).toEqual([...rooms].sort());

    await evictDurableObject(stub);
    // `b` speaks first: the room index comes from storage.
    b.send(WireClient.emitFrame("/", "cast", ["room-2999", "😀", ""], "hi", 1));
    expect((await a.event("/", "hi")).args).toEqual([1]);
    const view = (await a.call("/", "whoami")) as SocketView;
    expect(view.recovered).toBe(true);
    expect(view.rooms).toEqual([ia, ...rooms].sort());
  });

  it("a join and a leave of the same room in one turn write nothing, nor a stored room left and joined again", async () => {
    const name = newObjectName("join-leave");
    const stub = stubOf(name);
    const a = await open(name);
    await a.connect("/");
    const ia = idOf(a);
    await a.call("/", "join", ["kept", "gone"]);

    let before = await storageOf(stub);
    expect(
      await a.call("/", "rooms", [
        ["join", "brief"],
        ["leave", "brief"],
        ["leave", "kept"],
        ["join", "kept"],
        ["join", "brief"],
        ["leave", "brief"],
      ]),
    ).toEqual([ia, "gone", "kept"].sort());
    expect(spent(before, await storageOf(stub))).toEqual({ queries: 0, rowsWritten: 0 });

    // The net change of a turn is written: one room left, one joined.
    before = await storageOf(stub);
    expect(
      await a.call("/", "rooms", [
        ["leave", "gone"],
        ["join", "new"],
        ["leave", "new"],
        ["join", "new"],
      ]),
    ).toEqual([ia, "kept", "new"].sort());
    expect(spent(before, await storageOf(stub)).queries).toBe(2);
    expect(await rows(stub, "SELECT room FROM sio_rooms ORDER BY room")).toEqual([
      { room: "kept" },
      { room: "new" },
    ]);

    const fresh = await Incarnation.start(stub);
    expect(((await fresh.call(a, "/", "whoami")) as SocketView).rooms).toEqual(
      [ia, "kept", "new"].sort(),
    );
  });

  it("socketsJoin and socketsLeave of many sockets in one turn are stored, one statement per socket, and survive an eviction", async () => {
    const name = newObjectName("sockets-join");
    const stub = stubOf(name);
    const list = [];
    for (let i = 0; i < 5; i++) {
      const client = await open(name);
      await client.connect("/");
      list.push(client);
    }
    const [first, second] = list as [WireClient, WireClient];
    await second.call("/", "join", "picked");
    const ids = list.map((c) => idOf(c)).sort();

    let before = await storageOf(stub);
    await first.call("/", "sockets-join", null, ["all", "every"]);
    expect(spent(before, await storageOf(stub)).queries).toBe(list.length);
    expect(await storedCounts(stub)).toEqual({ sockets: 5, rooms: 11 });
    before = await storageOf(stub);
    await first.call("/", "sockets-leave", "picked", ["every", "picked"]);
    expect(spent(before, await storageOf(stub)).queries).toBe(1);
    expect(await storedCounts(stub)).toEqual({ sockets: 5, rooms: 9 });

    const fresh = await Incarnation.start(stub);
    const members = (await fresh.call(first, "/", "rooms-of-nsp")) as Record<string, string[]>;
    expect(members.all).toEqual(ids);
    expect(members.every).toEqual(ids.filter((id) => id !== idOf(second)));
    expect(members.picked).toBeUndefined();
  });
});

describe("the runtime's own eviction", () => {
  it("after evictDurableObject, the runtime's new instance serves the hibernated WebSockets and its alarm pings them", async () => {
    const name = newObjectName("evict");
    const stub = stubOf(name);
    const a = await open(name);
    const b = await open(name);
    await a.connect("/", { name: "alice" });
    await b.connect("/", { name: "bob" });
    await a.call("/", "join", "red");
    await b.call("/", "join", "red");
    await a.call("/", "set-data", { name: "alice", n: 1 });
    const before = (await a.call("/", "whoami")) as SocketView;

    await evictDurableObject(stub);
    // The WebSockets stayed open; the next message wakes a new instance.
    expect(await a.call("/", "whoami")).toEqual({ ...before, recovered: true });
    const stats = await runInDurableObject(stub, (instance: HibServer) => instance.stats());
    expect(stats).toMatchObject({ wakes: 2, clientsCount: 2, storedSockets: 2, storedRooms: 2 });
    a.send(WireClient.emitFrame("/", "cast", ["red"], "hi", 1));
    expect((await b.event("/", "hi")).args).toEqual([1]);

    await evictDurableObject(stub);
    const due = (await attachmentOf(stub, a.sid))?.nextPingAt as number;
    expect(await atTime(due, () => runDurableObjectAlarm(stub))).toBe(true);
    expect(await a.next()).toBe("2");
    expect(await b.next()).toBe("2");
    a.send("3");
    b.send("3");
    expect(await b.call("/", "whoami")).toMatchObject({ id: idOf(b), recovered: true });
  });
});
