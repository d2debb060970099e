// Socket.IO v2 clients (Engine.IO protocol v3) on `/sio3/` (the feature server with
// `allowEIO3`), beside socket.io-client 4.x: the real socket.io-client 2.5.0 in three
// modes, and the v3 protocol by hand (handshake, payload framing, the heartbeat the
// client drives, malformed input). `/sio/` (without the option) refuses them.
import { afterEach, describe, expect, it } from "vitest";
import { httpUrl, parseOpen, request, wsUrl } from "../helpers/eio.js";
import { bytes, Clients, MODES, settled, uid } from "../helpers/sio.js";
import { Clients2 } from "../helpers/sio2.js";
import { WsClient } from "../helpers/ws-client.js";

const clients = new Clients();
const clients2 = new Clients2();
const raws: WsClient[] = [];
afterEach(async () => {
  clients2.closeAll();
  await clients.closeAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

/** The packets of a v3 polling payload (`<length>:<packet>...`, lengths in UTF-16 units). */
function v3Packets(body: string): string[] {
  const packets: string[] = [];
  let rest = body;
  while (rest.length > 0) {
    const colon = rest.indexOf(":");
    const n = Number(rest.slice(0, colon));
    if (colon < 1 || !Number.isInteger(n)) throw new Error(`not a v3 payload: ${body}`);
    packets.push(rest.slice(colon + 1, colon + 1 + n));
    rest = rest.slice(colon + 1 + n);
  }
  return packets;
}

interface Welcome {
  id: string;
  auth: unknown;
  query: Record<string, string>;
  rooms: string[];
}

describe("the handshake of a v3 client", () => {
  it("is refused without allowEIO3, as Node's server refuses it", async () => {
    for (const eio of ["3", undefined]) {
      const r = await request(httpUrl("sio", { EIO: eio, transport: "polling" }));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ code: 5, message: "Unsupported protocol version" });
    }
  });

  it("opens a v3 session with allowEIO3: length-prefixed payloads, `/` joined at once", async () => {
    const r = await request(httpUrl("sio3", { EIO: "3", transport: "polling" }));
    expect(r.status).toBe(200);
    const [open, ...more] = v3Packets(r.body);
    expect(more).toEqual([]);
    const { sid, pingInterval, pingTimeout } = parseOpen(open ?? "");
    expect([pingInterval, pingTimeout]).toEqual([1000, 2000]);
    // The CONNECT answer to `/`, which the client never asked for, has no payload;
    // the socket id is the session id.
    const get = await request(httpUrl("sio3", { EIO: "3", transport: "polling", sid }));
    const [connect, welcome] = v3Packets(get.body);
    expect(connect).toBe("40");
    expect(welcome?.startsWith('42["welcome",')).toBe(true);
    expect((JSON.parse(welcome?.slice(2) ?? "") as [string, Welcome])[1].id).toBe(sid);
    // A ping in a POST is answered in the next GET.
    const post = await request(httpUrl("sio3", { EIO: "3", transport: "polling", sid }), {
      method: "POST",
      body: "1:2",
    });
    expect([post.status, post.body]).toEqual([200, "ok"]);
    const pong = await request(httpUrl("sio3", { EIO: "3", transport: "polling", sid }));
    expect(v3Packets(pong.body)).toEqual(["3"]);
  });

  it("answers a malformed v3 payload with 400 and closes the session", async () => {
    for (const body of ["4hello", "x:42", "9:42[]", "2:4a1"]) {
      const r = await request(httpUrl("sio3", { EIO: "3", transport: "polling" }));
      const { sid } = parseOpen(r.body.slice(r.body.indexOf(":") + 1));
      const post = await request(httpUrl("sio3", { EIO: "3", transport: "polling", sid }), {
        method: "POST",
        body,
      });
      expect(post.status, body).toBe(400);
      const after = await request(httpUrl("sio3", { EIO: "3", transport: "polling", sid }));
      expect(after.status, body).toBe(400);
      expect(JSON.parse(after.body)).toEqual({ code: 1, message: "Session ID unknown" });
    }
  });
});

describe("the v3 heartbeat over WebSocket", () => {
  it("answers the client's pings and closes the session once they stop", async () => {
    const ws = await WsClient.connect(wsUrl("sio3", { EIO: "3", transport: "websocket" }));
    raws.push(ws);
    const { sid } = parseOpen(await ws.nextText());
    expect(await ws.nextText()).toBe("40");
    expect(JSON.parse((await ws.nextText()).slice(2))[1].id).toBe(sid);
    // Pings answered for longer than a session lives without one (1 s + 2 s): the
    // server counts the pings the runtime answered.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      ws.send("2");
      expect(await ws.nextText()).toBe("3");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    ws.send('42["echo","still here"]');
    expect(await ws.nextText()).toBe('42["echo","still here"]');
    // No more pings: the server closes the session (ping timeout).
    await ws.waitClosed(10_000);
  });

  it("closes the session when a v3 client sends a pong", async () => {
    const ws = await WsClient.connect(wsUrl("sio3", { EIO: "3", transport: "websocket" }));
    raws.push(ws);
    await ws.nextText();
    ws.send("3");
    const info = await ws.waitClosed(5_000);
    expect(info).toMatchObject({ code: 1002 });
  });

  it("frames binary data with its type byte", async () => {
    const ws = await WsClient.connect(wsUrl("sio3", { EIO: "3", transport: "websocket" }));
    raws.push(ws);
    await ws.nextText();
    expect(await ws.nextText()).toBe("40");
    await ws.nextText(); // welcome
    ws.send('451-["echo",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([4, 1, 2, 3]));
    expect(await ws.nextText()).toBe('451-["echo",{"_placeholder":true,"num":0}]');
    const frame = await ws.next();
    expect(Buffer.isBuffer(frame) ? [...frame] : frame).toEqual([4, 1, 2, 3]);
  });
});

describe.each(MODES)("socket.io-client 2.x over $name", (mode) => {
  it("connects: its socket id is its engine id, `/` without a CONNECT", async () => {
    const c = await clients2.connect("sio3", "/", { mode, query: { q: "1" } });
    const welcome = await c.next1<Welcome>("welcome");
    expect(c.id).toBe(c.engineId);
    expect(welcome.id).toBe(c.id);
    expect(welcome.auth).toEqual({});
    expect(welcome.query).toMatchObject({ q: "1", EIO: "3" });
    await c.settled(mode);
    expect(c.transport).toBe(mode.settled);
  });

  it("sends and receives events, unicode included", async () => {
    const c = await clients2.connect("sio3", "/", { mode });
    const values = ["héllo € 😀", 42, { a: [1, null, true] }, ""];
    c.socket.emit("echo", ...values);
    expect(await c.next("echo")).toEqual(values);
  });

  it("acknowledges both ways", async () => {
    const c = await clients2.connect("sio3", "/", { mode });
    expect(await c.request("echo-ack", "x", { y: 1 })).toEqual(["x", { y: 1 }]);
    c.socket.on("question", (q: string, ack: (...a: unknown[]) => void) => ack(`${q}!`, 2));
    expect(await c.call("ask", null)).toEqual(["what?!", "2"]);
    expect(await c.call("ask-with-ack")).toEqual({ answer: "what?!" });
  });

  it("sends and receives binary data, also in acknowledgements", async () => {
    const c = await clients2.connect("sio3", "/", { mode });
    await c.settled(mode);
    c.socket.emit("echo", Buffer.from([1, 2, 3]), { nested: Buffer.from([255]) });
    const [bin, obj] = await c.next("echo");
    expect(bytes(bin)).toEqual([1, 2, 3]);
    expect(bytes((obj as { nested: unknown }).nested)).toEqual([255]);
    const [acked] = await c.request("echo-ack", Buffer.from([9, 8]));
    expect(bytes(acked)).toEqual([9, 8]);
  });

  it("shares rooms and broadcasts with a socket.io-client 4.x socket", async () => {
    const room = `v2-${uid()}`;
    const old = await clients2.connect("sio3", "/", { mode });
    const now = await clients.connect("sio3", "/", { mode });
    await settled(now, mode);
    await old.settled(mode);
    expect(await old.call("join", room)).toEqual([old.id, room]);
    expect(await now.call("join", room)).toEqual([now.id, room]);
    await old.request("cast", { rooms: [room], event: "from-v2", args: ["hi", Buffer.from([7])] });
    const [text, bin] = await now.next("from-v2");
    expect(text).toBe("hi");
    expect(bytes(bin)).toEqual([7]);
    await now.request("cast", { rooms: [room], event: "from-v4", args: [Buffer.from([8]), "yo"] });
    const [bin4, text4] = await old.next("from-v4");
    expect(bytes(bin4)).toEqual([8]);
    expect(text4).toBe("yo");
    const ids = (await now.call<{ id: string }[]>("fetch", room)).map((s) => s.id).sort();
    expect(ids).toEqual([old.id, now.id].sort());
  });

  it("joins a namespace with the auth in its query, or gets the refusal's message", async () => {
    const admin = await clients2.connect("sio3", "/admin", { mode, query: { token: "admin" } });
    const welcome = await admin.next1<{ nsp: string; id: string }>("welcome");
    expect(welcome.nsp).toBe("/admin");
    expect(admin.id).toBe(`/admin#${admin.engineId}`);
    expect(welcome.id).toBe(admin.id);
    const refused = clients2.create("sio3", "/admin", { mode, query: { token: "nope" } });
    expect(await refused.next1("error")).toBe("not authorized");
  });

  it("reconnects after the server closed its connection", async () => {
    const c = await clients2.connect("sio3", "/", { mode, reconnection: true });
    const first = c.id;
    c.socket.emit("disconnect-me", true);
    expect(await c.next1("disconnect")).toBe("io server disconnect");
    c.socket.connect();
    await c.next("connect");
    expect(c.id).not.toBe(first);
    expect(await c.request("echo-ack", "back")).toEqual(["back"]);
  });
});
