// The events that tools of the Socket.IO ecosystem listen to, on `/inst/` (see
// test/e2e/README.md): `io.engine`'s `connection`, `connection_error`,
// `initial_headers` and `headers`; `socket.conn` (transport before and after the
// upgrade, `upgrading`/`upgrade`, `close`); the adapter's room events, in Node's order.
// The server records what its listeners saw; an observer client reads it back.
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { httpUrl, request, wsUrl } from "../helpers/eio.js";
import { type Client, Clients, MODES, settled, uid } from "../helpers/sio.js";
import { waitUntil, withTimeout } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

interface Seen {
  ev: string;
  [detail: string]: unknown;
}

/** What the server's listeners saw about any of `keys` (sids, socket ids, rooms, tags). */
async function seen(keys: string[]): Promise<Seen[]> {
  return seenOnce(null, keys);
}

/**
 * What the server's listeners saw about any of `keys`, once they saw an `ev` (any time
 * with `null`), asked by an observer client of its own.
 */
async function seenOnce(ev: string | null, keys: string[]): Promise<Seen[]> {
  const observer = await clients.connect("inst", "/", { transports: ["websocket"] });
  try {
    return await waitUntil(
      () => observer.call<Seen[]>("seen", keys),
      (list) => ev === null || list.some((e) => e.ev === ev),
      { timeoutMs: 8_000, intervalMs: 100, what: `the server to see ${ev}` },
    );
  } finally {
    observer.socket.disconnect();
  }
}

function sidOf(client: Client): string {
  const sid = client.socket.io.engine.id;
  if (!sid) throw new Error("no engine session");
  return sid;
}

interface ConnView {
  sid: string;
  clientId: string;
  transport: string;
  readyState: string;
  upgraded: boolean;
  remoteAddress: string;
  url: string;
  clientsCount: number;
}

describe.each(MODES)("io.engine and socket.conn ($name)", (mode) => {
  it("connection hands out the session; socket.conn shows its transport, before and after an upgrade", async () => {
    const tag = uid();
    const client = await clients.connect("inst", "/", { mode, query: { tag } });
    const sid = sidOf(client);
    await settled(client, mode);
    if (mode.transports === undefined) {
      expect(await client.next1("upgraded")).toBe("websocket");
    }
    const conn = await client.call<ConnView>("conn");
    expect(conn).toMatchObject({
      sid,
      clientId: sid,
      transport: mode.settled,
      readyState: "open",
      upgraded: mode.transports === undefined,
      remoteAddress: "127.0.0.1",
    });
    const url = new URL(conn.url);
    expect(url.pathname).toBe("/inst/");
    expect(url.searchParams.get("tag")).toBe(tag);
    expect(url.searchParams.get("transport")).toBe(mode.transports?.[0] ?? "polling");
    expect(conn.clientsCount).toBeGreaterThanOrEqual(1);

    const events = (await seen([sid])).filter((e) => e.ev !== "close");
    const first = mode.transports?.[0] ?? "polling";
    const expected: Seen[] = [
      {
        ev: "connection",
        transport: first,
        readyState: "open",
        protocol: 4,
        recovered: false,
        url: conn.url,
      },
    ];
    if (mode.transports === undefined) {
      expected.push({ ev: "upgrading", transport: "websocket" });
      expected.push({ ev: "upgrade", transport: "websocket", now: "websocket" });
    }
    expect(events).toEqual(expected);
  });

  it("close comes with the reason, after the sockets' disconnect listeners, and readyState is closed", async () => {
    const client = await clients.connect("inst", "/", { mode });
    await settled(client, mode);
    const sid = sidOf(client);
    const id = client.id;
    client.socket.emit("close-conn");
    await client.next("disconnect");
    const events = await seenOnce("close", [sid, id]);
    const tail = events.filter((e) => ["disconnecting", "disconnect", "close"].includes(e.ev));
    expect(tail).toEqual([
      { ev: "disconnecting", reason: "forced close", rooms: [id] },
      { ev: "disconnect", reason: "forced close" },
      { ev: "close", reason: "forced close", readyState: "closed" },
    ]);
  });
});

describe("io.engine and socket.conn", () => {
  it("a client that goes away closes its session with transport close", async () => {
    const client = await clients.connect("inst", "/", { transports: ["websocket"] });
    const sid = sidOf(client);
    client.socket.disconnect();
    const events = await seenOnce("close", [sid]);
    expect(events.at(-1)).toEqual({ ev: "close", reason: "transport close", readyState: "closed" });
  });

  it("connection_error describes each refusal as engine.io does", async () => {
    const tag = uid();
    const sid = `unknown-${uid()}`;
    const refusals: [Record<string, string>, RequestInit, number][] = [
      [{ EIO: "4", transport: "polling", sid, t: tag }, {}, 400],
      [{ EIO: "4", transport: "carrier-pigeon", t: tag }, {}, 400],
      [{ EIO: "3", transport: "polling", t: tag }, {}, 400],
      [{ EIO: "4", transport: "polling", t: tag }, { method: "PUT" }, 400],
    ];
    for (const [query, init, status] of refusals) {
      expect((await request(httpUrl("inst", query), init)).status).toBe(status);
    }
    const errors = (await seen([tag, sid])).filter((e) => e.ev === "connection_error");
    expect(errors).toEqual([
      { ev: "connection_error", code: 1, message: "Session ID unknown", context: { sid } },
      {
        ev: "connection_error",
        code: 0,
        message: "Transport unknown",
        context: { transport: "carrier-pigeon" },
      },
      {
        ev: "connection_error",
        code: 5,
        message: "Unsupported protocol version",
        context: { protocol: "3" },
      },
      {
        ev: "connection_error",
        code: 2,
        message: "Bad handshake method",
        context: { method: "PUT" },
      },
    ]);
  });

  it("initial_headers and headers listeners change the headers of the responses", async () => {
    // The listeners: initial_headers adds x-initial and two cookies, headers adds x-every
    // and removes the header named by the query's `drop`.
    const handshake = await request(httpUrl("inst", { EIO: "4", transport: "polling" }));
    expect(handshake.status).toBe(200);
    expect(handshake.headers.get("x-initial")).toBe("yes");
    expect(handshake.headers.get("x-every")).toBe("yes");
    expect(handshake.headers.getSetCookie()).toEqual(["inst-a=1; Path=/", "inst-b=2; Path=/"]);
    const sid = (JSON.parse(handshake.body.slice(1)) as { sid: string }).sid;

    const post = await request(httpUrl("inst", { EIO: "4", transport: "polling", sid }), {
      method: "POST",
      body: "40",
    });
    expect(post.body).toBe("ok");
    expect(post.headers.get("x-every")).toBe("yes");
    expect(post.headers.get("x-initial")).toBeNull();
    const poll = await request(httpUrl("inst", { EIO: "4", transport: "polling", sid }));
    expect(poll.body.startsWith("40")).toBe(true);
    expect(poll.headers.get("x-every")).toBe("yes");
    expect(poll.headers.get("x-initial")).toBeNull();
    expect(poll.headers.getSetCookie()).toEqual([]);

    const dropped = await request(
      httpUrl("inst", { EIO: "4", transport: "polling", drop: "x-initial" }),
    );
    expect(dropped.headers.get("x-initial")).toBeNull();
    expect(dropped.headers.get("x-every")).toBe("yes");

    // The 101 answer of a WebSocket handshake carries them too.
    const ws = new WebSocket(wsUrl("inst", { EIO: "4", transport: "websocket" }));
    const upgrade = await withTimeout(
      new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        ws.once("upgrade", (res) => resolve(res.headers));
        ws.once("error", reject);
      }),
      5_000,
      "the WebSocket handshake",
    );
    ws.close();
    expect(upgrade["x-initial"]).toBe("yes");
    expect(upgrade["x-every"]).toBe("yes");
    expect(upgrade["set-cookie"]).toEqual(["inst-a=1; Path=/", "inst-b=2; Path=/"]);
  });
});

describe("adapter room events", () => {
  const ROOM_EVENTS = new Set([
    "create-room",
    "join-room",
    "leave-room",
    "delete-room",
    "disconnecting",
    "disconnect",
  ]);

  it("come in Node's order: create before join, leave before delete, the own room included", async () => {
    const r0 = `mw-${uid()}`;
    const r1 = `r1-${uid()}`;
    const r2 = `r2-${uid()}`;
    // `a` joins r0 in a middleware, before its own room exists.
    const a = await clients.connect("inst", "/", { transports: ["websocket"], auth: { room: r0 } });
    const b = await clients.connect("inst", "/", { transports: ["websocket"] });
    const [ida, idb] = [a.id, b.id];
    await a.call("join", r1);
    await a.call("join", r1); // already in: nothing
    await b.call("join", r1);
    await a.call("leave", r1);
    await a.call("leave", `never-${uid()}`); // not in: nothing
    await b.call("leave", r1);
    await b.call("sockets-join", ida, r2); // io.in(a).socketsJoin(r2)
    a.socket.disconnect();
    const events = (await seenOnce("disconnect", [ida, idb, r0, r1, r2])).filter((e) =>
      ROOM_EVENTS.has(e.ev),
    );
    expect(events).toEqual([
      { ev: "create-room", room: r0 },
      { ev: "join-room", room: r0, id: ida },
      { ev: "create-room", room: ida },
      { ev: "join-room", room: ida, id: ida },
      { ev: "create-room", room: idb },
      { ev: "join-room", room: idb, id: idb },
      { ev: "create-room", room: r1 },
      { ev: "join-room", room: r1, id: ida },
      { ev: "join-room", room: r1, id: idb },
      { ev: "leave-room", room: r1, id: ida },
      { ev: "leave-room", room: r1, id: idb },
      { ev: "delete-room", room: r1 },
      { ev: "create-room", room: r2 },
      { ev: "join-room", room: r2, id: ida },
      { ev: "disconnecting", reason: "client namespace disconnect", rooms: [r0, ida, r2] },
      { ev: "leave-room", room: r0, id: ida },
      { ev: "delete-room", room: r0 },
      { ev: "leave-room", room: ida, id: ida },
      { ev: "delete-room", room: ida },
      { ev: "leave-room", room: r2, id: ida },
      { ev: "delete-room", room: r2 },
      { ev: "disconnect", reason: "client namespace disconnect" },
    ]);
  });
});
