// Rooms, broadcasts, broadcast acks and the server-side socket queries of the
// `/sio/` feature server (see test/e2e/README.md), with socket.io-client in
// each transport mode and raw WebSockets where the transport itself matters.
import { afterEach, describe, expect, it } from "vitest";
import { decodePayload, type Mount, PollingSession, wsUrl } from "../helpers/eio.js";
import { type Client, Clients, MODES, settled, uid } from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";
import { WsClient } from "../helpers/ws-client.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

interface Fetched {
  id: string;
  rooms: string[];
  data: unknown;
}

/**
 * One echo round trip: everything the server sent to this socket before
 * handling the echo has been received once it returns.
 */
async function flush(client: Client): Promise<void> {
  const marker = `flush-${uid()}`;
  client.socket.emit("echo", marker);
  await client.next("echo", 5_000, (args) => args[0] === marker);
}

/** Count of `event` received with first argument `tag`. */
function hits(client: Client, event: string, tag: string): number {
  return client.count(event, (args) => args[0] === tag);
}

// In the upgrade mode, each client is used once its upgrade is complete (the
// polling phase is covered by the polling mode).
describe.each(MODES)("rooms and broadcasts ($name)", (mode) => {
  async function connectMany(n: number): Promise<Client[]> {
    const list = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        clients.connect("sio", "/", { mode, auth: { name: `c${i}` } }),
      ),
    );
    await Promise.all(list.map((c) => c.next("welcome")));
    await Promise.all(list.map((c) => settled(c, mode)));
    return list;
  }

  it("join and leave are reflected in socket.rooms", async () => {
    const [a] = (await connectMany(1)) as [Client];
    const r1 = `r1-${uid()}`;
    const r2 = `r2-${uid()}`;
    expect(await a.call("join", [r1, r2])).toEqual([a.id, r1, r2]);
    expect(await a.call("join", r1)).toEqual([a.id, r1, r2]);
    expect(await a.call("leave", r1)).toEqual([a.id, r2]);
    expect(await a.call("leave", "never-joined")).toEqual([a.id, r2]);
    expect(await a.call("leave", r2)).toEqual([a.id]);
  });

  it("a cast to rooms reaches exactly their members, once each, never the sender", async () => {
    const [a, b, c, d] = (await connectMany(4)) as [Client, Client, Client, Client];
    const r1 = `r1-${uid()}`;
    const r2 = `r2-${uid()}`;
    await a.call("join", r1);
    await b.call("join", [r1, r2]);
    await c.call("join", r2);
    const tag = `t-${uid()}`;
    await a.call("cast", { rooms: [r1, r2], event: "hit", args: [tag, { n: 1 }] });
    expect(await b.next("hit")).toEqual([tag, { n: 1 }]);
    expect(await c.next("hit")).toEqual([tag, { n: 1 }]);
    await Promise.all([a, b, c, d].map(flush));
    expect([a, b, c, d].map((x) => hits(x, "hit", tag))).toEqual([0, 1, 1, 0]);
  });

  it("outgoing listeners hear exactly the broadcasts that reach their socket", async () => {
    const [a, b, c] = (await connectMany(3)) as [Client, Client, Client];
    const r1 = `r1-${uid()}`;
    const r2 = `r2-${uid()}`;
    await a.call("join", r1);
    await b.call("join", [r1, r2]);
    await a.call("watch-outgoing");
    await b.call("watch-outgoing");
    const toR1 = `t1-${uid()}`;
    const notR2 = `t2-${uid()}`;
    await c.call("cast", { rooms: [r1], event: "hit", args: [toR1] });
    await c.call("cast", { except: [r2], event: "hit", args: [notR2] });
    await Promise.all([a, b, c].map(flush));
    const seen = (x: Client, tag: string) =>
      x.count("outgoing-seen", (args) => args[0] === "hit" && args[1] === tag);
    expect([a, b].map((x) => seen(x, toR1))).toEqual([1, 1]);
    expect([a, b].map((x) => seen(x, notR2))).toEqual([1, 0]);
    expect([a, b].map((x) => hits(x, "hit", notR2))).toEqual([1, 0]);
  });

  it("except leaves out the members of the excluded rooms", async () => {
    const [a, b, c, d] = (await connectMany(4)) as [Client, Client, Client, Client];
    const r1 = `r1-${uid()}`;
    const r2 = `r2-${uid()}`;
    await a.call("join", r1);
    await b.call("join", [r1, r2]);
    await c.call("join", r2);
    const tag = `t-${uid()}`;
    await d.call("cast", { rooms: [r1], except: [r2], event: "hit", args: [tag] });
    expect(await a.next("hit")).toEqual([tag]);
    await Promise.all([a, b, c, d].map(flush));
    expect([a, b, c, d].map((x) => hits(x, "hit", tag))).toEqual([1, 0, 0, 0]);
  });

  it("a broadcast without rooms reaches everyone but the sender; except still applies", async () => {
    const [a, b, c, d] = (await connectMany(4)) as [Client, Client, Client, Client];
    const tag = `t-${uid()}`;
    await a.call("cast", { event: "hit", args: [tag] });
    await Promise.all([b, c, d].map((x) => x.next("hit", 5_000, (args) => args[0] === tag)));
    await Promise.all([a, b, c, d].map(flush));
    expect([a, b, c, d].map((x) => hits(x, "hit", tag))).toEqual([0, 1, 1, 1]);

    const quiet = `q-${uid()}`;
    await c.call("join", quiet);
    const tag2 = `t-${uid()}`;
    await a.call("cast", { event: "hit", args: [tag2], except: [quiet] });
    await Promise.all([b, d].map((x) => x.next("hit", 5_000, (args) => args[0] === tag2)));
    await Promise.all([a, b, c, d].map(flush));
    expect([a, b, c, d].map((x) => hits(x, "hit", tag2))).toEqual([0, 1, 0, 1]);
  });

  it("a server-wide cast (io.to) includes the sender when it is a member", async () => {
    const [a, b, c] = (await connectMany(3)) as [Client, Client, Client];
    const room = `r-${uid()}`;
    await a.call("join", room);
    await b.call("join", room);
    const tag = `t-${uid()}`;
    await a.call("cast", { rooms: [room], event: "hit", args: [tag], self: true });
    await a.next("hit", 5_000, (args) => args[0] === tag);
    await b.next("hit", 5_000, (args) => args[0] === tag);
    await Promise.all([a, b, c].map(flush));
    expect([a, b, c].map((x) => hits(x, "hit", tag))).toEqual([1, 1, 0]);

    const all = `t-${uid()}`;
    await c.call("cast", { event: "hit", args: [all], self: true });
    await Promise.all([a, b, c].map((x) => x.next("hit", 5_000, (args) => args[0] === all)));
    await Promise.all([a, b, c].map(flush));
    expect([a, b, c].map((x) => hits(x, "hit", all))).toEqual([1, 1, 1]);
  });

  it("a cast carries binary to every member", async () => {
    const [a, b, c] = (await connectMany(3)) as [Client, Client, Client];
    const room = `r-${uid()}`;
    await b.call("join", room);
    await c.call("join", room);
    await a.call("cast", {
      rooms: [room],
      event: "bin",
      args: [{ data: Buffer.from([7, 7, 7]) }, Uint8Array.from([1])],
    });
    for (const x of [b, c]) {
      const [obj, raw] = (await x.next("bin")) as [{ data: Buffer }, Buffer];
      expect([...obj.data]).toEqual([7, 7, 7]);
      expect([...raw]).toEqual([1]);
    }
  });

  it("poll-room collects one answer per member", async () => {
    const [a, b, c, d] = (await connectMany(4)) as [Client, Client, Client, Client];
    const room = `r-${uid()}`;
    for (const [x, name] of [
      [a, "A"],
      [b, "B"],
      [c, "C"],
    ] as const) {
      await x.call("join", room);
      x.socket.on("question", (text: string, ack: (r: unknown) => void) => ack(`${name}:${text}`));
    }
    const result = (await d.call("poll-room", room, 3_000)) as {
      error: string | null;
      responses: string[];
    };
    expect(result.error).toBeNull();
    expect([...result.responses].sort()).toEqual(["A:room?", "B:room?", "C:room?"]);
    expect(d.count("question")).toBe(0);
  });

  it("poll-room reports the timeout with the partial answers when one member is silent", async () => {
    const [a, b, c, d] = (await connectMany(4)) as [Client, Client, Client, Client];
    const room = `r-${uid()}`;
    await a.call("join", room);
    await b.call("join", room);
    await c.call("join", room);
    a.socket.on("question", (_t: string, ack: (r: unknown) => void) => ack({ from: "A" }));
    b.socket.on("question", (_t: string, ack: (r: unknown) => void) => ack({ from: "B" }));
    // c receives the question and never answers.
    const started = Date.now();
    const result = (await d.call("poll-room", room, 500)) as {
      error: string | null;
      responses: Array<{ from: string }>;
    };
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(result.error).toBe("operation has timed out");
    expect(result.responses.map((r) => r.from).sort()).toEqual(["A", "B"]);
    expect(await c.next("question")).toEqual(["room?", expect.any(Function)]);
  });

  it("poll-room on an empty room answers at once with no responses", async () => {
    const [a] = (await connectMany(1)) as [Client];
    const started = Date.now();
    expect(await a.call("poll-room", `empty-${uid()}`, 3_000)).toEqual({
      error: null,
      responses: [],
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("fetch returns the ids, rooms and data of the sockets in a room", async () => {
    const [a, b, c] = (await connectMany(3)) as [Client, Client, Client];
    const room = `r-${uid()}`;
    const other = `o-${uid()}`;
    await a.call("join", [room, other]);
    await b.call("join", room);
    await a.call("set-data", { role: "a", list: [1, 2] });
    await b.call("set-data", "b-data");
    const fetched = (await c.call("fetch", room)) as Fetched[];
    const byId = [...fetched].sort((x, y) => x.id.localeCompare(y.id));
    const expected = [
      { id: a.id, rooms: [a.id, other, room].sort(), data: { role: "a", list: [1, 2] } },
      { id: b.id, rooms: [b.id, room].sort(), data: "b-data" },
    ].sort((x, y) => x.id.localeCompare(y.id));
    expect(byId).toEqual(expected);

    // Without a room: every socket of "/", ours among them with their data.
    const all = (await c.call("fetch", null)) as Fetched[];
    const mine = all.filter((s) => [a.id, b.id, c.id].includes(s.id));
    expect(mine).toHaveLength(3);
    expect(mine.find((s) => s.id === c.id)).toEqual({
      id: c.id,
      rooms: [c.id],
      data: { name: "c2" },
    });
  });

  it("sockets-join and sockets-leave move every member of a room", async () => {
    const [a, b, c] = (await connectMany(3)) as [Client, Client, Client];
    const room = `r-${uid()}`;
    const target = `t-${uid()}`;
    await a.call("join", room);
    await b.call("join", room);
    await c.call("sockets-join", room, target);
    const joined = (await c.call("fetch", target)) as Fetched[];
    expect(joined.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(await a.call("join", [])).toEqual([a.id, room, target]);

    const tag = `t-${uid()}`;
    await c.call("cast", { rooms: [target], event: "hit", args: [tag] });
    await a.next("hit", 5_000, (args) => args[0] === tag);
    await b.next("hit", 5_000, (args) => args[0] === tag);

    await c.call("sockets-leave", room, target);
    expect(await c.call("fetch", target)).toEqual([]);
    expect(await b.call("join", [])).toEqual([b.id, room]);
  });

  it("rooms-of-nsp matches the adapter's rooms", async () => {
    const [a, b] = (await connectMany(2)) as [Client, Client];
    const room = `r-${uid()}`;
    await a.call("join", room);
    await b.call("join", room);
    const rooms = (await a.call("rooms-of-nsp")) as Record<string, string[]>;
    expect(rooms[room]).toEqual([a.id, b.id].sort());
    expect(rooms[a.id]).toEqual([a.id]);
    expect(rooms[b.id]).toEqual([b.id]);
    await a.call("leave", room);
    await b.call("leave", room);
    const after = (await a.call("rooms-of-nsp")) as Record<string, string[]>;
    expect(after[room]).toBeUndefined();
    expect(after[a.id]).toEqual([a.id]);
  });

  it('disconnect-room (close false): "io server disconnect", other namespaces stay on the engine', async () => {
    const manager = clients.manager("sio", { mode });
    const x = clients.socketOf(manager, "/");
    const xAdmin = clients.socketOf(manager, "/admin", { auth: { token: "admin" } });
    await Promise.all([x.connected(), xAdmin.connected()]);
    await settled(x, mode);
    const [y] = (await connectMany(1)) as [Client];
    const room = `r-${uid()}`;
    await x.call("join", room);
    y.socket.emit("disconnect-room", room, false);
    expect(await x.next("disconnect")).toEqual(["io server disconnect", undefined]);
    expect(x.socket.connected).toBe(false);
    xAdmin.socket.emit("echo", "admin still here");
    expect(await xAdmin.next("echo")).toEqual(["admin still here"]);
    expect(xAdmin.count("disconnect")).toBe(0);
    expect(manager.engine.readyState).toBe("open");
    expect((await y.call("fetch", room)) as Fetched[]).toEqual([]);
  });

  it("disconnect-room (close true): every namespace of that client is disconnected", async () => {
    const manager = clients.manager("sio", { mode });
    const x = clients.socketOf(manager, "/");
    const xAdmin = clients.socketOf(manager, "/admin", { auth: { token: "admin" } });
    await Promise.all([x.connected(), xAdmin.connected()]);
    await settled(x, mode);
    const [y] = (await connectMany(1)) as [Client];
    const room = `r-${uid()}`;
    await x.call("join", room);
    y.socket.emit("disconnect-room", room, true);
    expect(await x.next("disconnect")).toEqual(["io server disconnect", undefined]);
    expect((await xAdmin.next("disconnect"))[0]).toBe("io server disconnect");
    await waitUntil(
      async () => manager.engine.readyState,
      (s) => s === "closed",
      { what: "the engine connection to be closed" },
    );
    // y is not affected.
    y.socket.emit("echo", "y fine");
    expect(await y.next("echo")).toEqual(["y fine"]);
  });

  it("disconnect-me (close false) ends only this namespace", async () => {
    const [a] = (await connectMany(1)) as [Client];
    a.socket.emit("disconnect-me", false);
    expect(await a.next("disconnect")).toEqual(["io server disconnect", undefined]);
    expect(a.socket.connected).toBe(false);
  });
});

describe("disconnecting sockets: the transport, seen from raw WebSockets", () => {
  async function rawMember(room: string) {
    const raw = await clients.raw("sio");
    await raw.connect("/");
    expect((await raw.nextText()).startsWith('42["welcome",')).toBe(true);
    await raw.connect("/admin", { token: "admin" });
    expect((await raw.nextText()).startsWith('42/admin,["welcome",')).toBe(true);
    raw.send(`421${JSON.stringify(["join", room])}`);
    expect((await raw.nextText()).startsWith("431[")).toBe(true);
    return raw;
  }

  it("disconnect-room false: 41 is sent, the WebSocket and /admin stay", async () => {
    const room = `r-${uid()}`;
    const raw = await rawMember(room);
    const y = await clients.connect("sio", "/");
    y.socket.emit("disconnect-room", room, false);
    expect(await raw.nextText()).toBe("41");
    raw.send('42/admin,["echo","x"]');
    expect(await raw.nextText()).toBe('42/admin,["echo","x"]');
    expect(raw.isOpen).toBe(true);
  });

  it("disconnect-room true: 41 for each namespace, then the WebSocket closes", async () => {
    const room = `r-${uid()}`;
    const raw = await rawMember(room);
    const y = await clients.connect("sio", "/");
    y.socket.emit("disconnect-room", room, true);
    await raw.waitClosed(3_000);
    const frames = raw.ws.drain();
    expect([...frames].sort()).toEqual(["41", "41/admin,"]);
  });

  it("disconnect-me true closes the WebSocket", async () => {
    const raw = await clients.raw("sio");
    await raw.connect("/");
    await raw.nextText();
    raw.send('42["disconnect-me",true]');
    await raw.waitClosed(3_000);
    expect(raw.ws.drain()).toEqual(["41"]);
  });

  it("disconnect-me false sends 41 and keeps the WebSocket", async () => {
    const raw = await clients.raw("sio");
    await raw.connect("/");
    await raw.nextText();
    raw.send('42["disconnect-me",false]');
    expect(await raw.nextText()).toBe("41");
    // The namespace is gone: reconnecting to it gives a new socket.
    await raw.connect("/");
    expect((await raw.nextText()).startsWith('42["welcome",')).toBe(true);
    expect(raw.isOpen).toBe(true);
  });
});

describe("disconnecting sockets: the transport, seen from a raw polling session", () => {
  /**
   * Reads the session until it ends: the packets received (noops left out),
   * stopping after a close packet or an HTTP error.
   */
  async function readUntilEnd(
    session: PollingSession,
  ): Promise<{ packets: string[]; status: number }> {
    const packets: string[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await session.get();
      if (result.status !== 200) return { packets, status: result.status };
      for (const packet of decodePayload(result.body)) {
        if (packet === "2") await session.send("3");
        else if (packet !== "6") packets.push(packet);
      }
      if (packets.includes("1")) return { packets, status: 200 };
    }
    return { packets, status: 200 };
  }

  it("disconnect-room true with no GET pending: the next GETs deliver 41, then the close packet", async () => {
    const session = await PollingSession.open("sio" as Mount);
    await session.send("40");
    const [connect, welcome] = await session.receive(2);
    expect(connect?.startsWith("40{")).toBe(true);
    expect(welcome?.startsWith('42["welcome",')).toBe(true);
    const room = `r-${uid()}`;
    await session.send(`421${JSON.stringify(["join", room])}`);
    expect((await session.receive(1))[0]?.startsWith("431[")).toBe(true);
    // No GET is pending while the server disconnects the socket.
    const y = await clients.connect("sio", "/");
    y.socket.emit("disconnect-room", room, true);
    await waitUntil(
      async () => ((await y.call("fetch", room)) as Fetched[]).length,
      (n) => n === 0,
      { what: "the room to be empty" },
    );
    try {
      expect(await readUntilEnd(session)).toEqual({ packets: ["41", "1"], status: 200 });
    } finally {
      await session.close();
    }
  });

  it("disconnect-me true while an upgrade is pending: 41 arrives on the new WebSocket, then it closes", async () => {
    const session = await PollingSession.open("sio" as Mount);
    await session.send("40");
    await session.receive(2);
    const ws = await WsClient.connect(
      wsUrl("sio", { EIO: "4", transport: "websocket", sid: session.sid }),
      { autoPong: true },
    );
    try {
      ws.send("2probe");
      expect(await ws.next()).toBe("3probe");
      // No GET is pending; the server disconnects the socket, then the upgrade completes.
      await session.send('42["disconnect-me",true]');
      ws.send("5");
      await ws.waitClosed(3_000);
      expect(ws.drain()).toEqual(["41"]);
    } finally {
      await ws.close();
      await session.close();
    }
  });
});
