// Disconnections on the `/sio/` feature server (see test/e2e/README.md): the
// reason seen by the server's `disconnecting` handler (relayed as `gone` to the
// room "observers"), heartbeat loss, and socket.io-client's reconnection rules.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, Clients, MODES, settled, uid } from "../helpers/sio.js";
import { sleep } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

interface Gone {
  id: string;
  reason: string;
  rooms: string[];
}

/** A socket.io-client in the room "observers", which receives every `gone`. */
async function observer(): Promise<Client> {
  const watcher = await clients.connect("sio", "/", { transports: ["websocket"] });
  await watcher.next("welcome");
  await watcher.call("join", "observers");
  return watcher;
}

function goneOf(watcher: Client, id: string, timeoutMs = 5_000): Promise<Gone> {
  return watcher
    .next("gone", timeoutMs, (args) => (args[0] as Gone).id === id)
    .then((args) => args[0] as Gone);
}

// In the upgrade mode, each test starts once the upgrade is complete (the
// polling phase is covered by the polling mode).
describe.each(MODES)("disconnecting reasons ($name)", (mode) => {
  async function member(): Promise<{ client: Client; room: string }> {
    const client = await clients.connect("sio", "/", { mode });
    await client.next("welcome");
    await settled(client, mode);
    const room = `r-${uid()}`;
    await client.call("join", room);
    return { client, room };
  }

  it('client socket.disconnect() → "client namespace disconnect", rooms still present', async () => {
    const watcher = await observer();
    const { client, room } = await member();
    const id = client.id;
    client.socket.disconnect();
    expect(await goneOf(watcher, id)).toEqual({
      id,
      reason: "client namespace disconnect",
      rooms: [id, room].sort(),
    });
  });

  it('server disconnect (disconnect-me false) → "server namespace disconnect"', async () => {
    const watcher = await observer();
    const { client, room } = await member();
    const id = client.id;
    client.socket.emit("disconnect-me", false);
    expect(await goneOf(watcher, id)).toEqual({
      id,
      reason: "server namespace disconnect",
      rooms: [id, room].sort(),
    });
    expect(await client.next("disconnect")).toEqual(["io server disconnect", undefined]);
  });

  it('server disconnect of a room (disconnect-room true) → "server namespace disconnect"', async () => {
    const watcher = await observer();
    const { client, room } = await member();
    const id = client.id;
    watcher.socket.emit("disconnect-room", room, true);
    expect(await goneOf(watcher, id)).toEqual({
      id,
      reason: "server namespace disconnect",
      rooms: [id, room].sort(),
    });
  });

  it('the client\'s engine closed abruptly → "transport close"', async () => {
    const watcher = await observer();
    const { client, room } = await member();
    const id = client.id;
    client.socket.io.engine.close();
    expect(await goneOf(watcher, id)).toEqual({
      id,
      reason: "transport close",
      rooms: [id, room].sort(),
    });
  });

  it('no reconnection after "io server disconnect" (disconnect-me true)', async () => {
    const client = await clients.connect("sio", "/", {
      mode,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
    });
    await client.next("welcome");
    await settled(client, mode);
    client.socket.emit("disconnect-me", true);
    expect(await client.next("disconnect")).toEqual(["io server disconnect", undefined]);
    // Several reconnection delays later, still disconnected, no new connect.
    await sleep(1_000);
    expect(client.socket.connected).toBe(false);
    expect(client.count("connect")).toBe(1);
    expect(client.count("welcome")).toBe(1);
  });

  it("reconnects after a lost transport (contrast with the case above)", async () => {
    const client = await clients.connect("sio", "/", {
      mode,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
    });
    await client.next("welcome");
    await settled(client, mode);
    const first = client.id;
    // Closing the engine from the client side is reported as "forced close"
    // by socket.io-client; the Manager then reconnects.
    client.socket.io.engine.close();
    expect((await client.next("disconnect"))[0]).toBe("forced close");
    await client.next("connect", 5_000);
    const welcome = (await client.next1("welcome")) as { id: string };
    expect(welcome.id).toBe(client.id);
    expect(client.id).not.toBe(first);
  });
});

describe("heartbeat and raw sessions", () => {
  it('a client that never answers pings → "ping timeout" (pingInterval 1000 + pingTimeout 2000)', async () => {
    const watcher = await observer();
    const raw = await clients.raw("sio", { autoPong: false });
    expect(raw.open.pingInterval).toBe(1000);
    expect(raw.open.pingTimeout).toBe(2000);
    const id = await raw.connect("/");
    const room = `r-${uid()}`;
    raw.send(`420${JSON.stringify(["join", room])}`);
    const started = Date.now();
    const gone = await goneOf(watcher, id, 8_000);
    const elapsed = Date.now() - started;
    expect(gone).toEqual({ id, reason: "ping timeout", rooms: [id, room].sort() });
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(6_000);
    await raw.waitClosed(3_000);
  });

  it("a raw 41 makes the server forget the socket (fetch), the engine session stays", async () => {
    const watcher = await observer();
    const raw = await clients.raw("sio");
    const id = await raw.connect("/");
    expect((await raw.nextText()).startsWith('42["welcome",')).toBe(true);
    const ids = async (): Promise<string[]> =>
      ((await watcher.call("fetch", null)) as Array<{ id: string }>).map((s) => s.id);
    expect(await ids()).toContain(id);
    raw.send("41");
    expect(await goneOf(watcher, id)).toEqual({
      id,
      reason: "client namespace disconnect",
      rooms: [id],
    });
    expect(await ids()).not.toContain(id);
    expect(raw.isOpen).toBe(true);
  });

  it('the client closing its WebSocket → "transport close"', async () => {
    const watcher = await observer();
    const raw = await clients.raw("sio");
    const id = await raw.connect("/");
    await raw.close();
    expect(await goneOf(watcher, id)).toEqual({ id, reason: "transport close", rooms: [id] });
  });

  it('an invalid Socket.IO packet → error listener, then "forced close"', async () => {
    const watcher = await observer();
    const raw = await clients.raw("sio");
    const id = await raw.connect("/");
    expect((await raw.nextText()).startsWith('42["welcome",')).toBe(true);
    raw.send("42{}");
    expect(await goneOf(watcher, id)).toEqual({ id, reason: "forced close", rooms: [id] });
    await raw.waitClosed(3_000);
    // The socket's error listener ran (with the parser's message) before the
    // connection was closed, so its packet went out first.
    expect(raw.ws.drain()).toEqual(['42["socket-error","invalid payload"]']);
  });

  it('an event nested past the depth limit is a malformed packet → "forced close", others unharmed', async () => {
    const watcher = await observer();
    const witness = await clients.raw("sio");
    await witness.connect("/");
    expect((await witness.nextText()).startsWith('42["welcome",')).toBe(true);
    const raw = await clients.raw("sio");
    const id = await raw.connect("/");
    expect((await raw.nextText()).startsWith('42["welcome",')).toBe(true);
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    raw.send(`42["echo",${deep}]`);
    expect(await goneOf(watcher, id)).toEqual({ id, reason: "forced close", rooms: [id] });
    await raw.waitClosed(3_000);
    expect(raw.ws.drain()).toEqual(['42["socket-error","invalid payload"]']);
    // 100 levels, the outer array counting as one, are accepted.
    const ok = `${"[".repeat(98)}1${"]".repeat(98)}`;
    witness.send(`421["echo-ack",${ok}]`);
    expect(await witness.nextText()).toBe(`431[${ok}]`);
  });

  it('an invalid Engine.IO packet → "parse error"', async () => {
    const watcher = await observer();
    const raw = await clients.raw("sio");
    const id = await raw.connect("/");
    raw.send("9");
    expect(await goneOf(watcher, id)).toEqual({ id, reason: "parse error", rooms: [id] });
    await raw.waitClosed(3_000);
  });

  it("the server's CONNECT_ERROR on /sio/ middleware refusal carries message and data", async () => {
    const raw = await clients.raw("sio");
    const answer = await raw.connectRaw("/", { refuse: "nope", data: { code: 42 } });
    expect(answer).toBe('44{"message":"nope","data":{"code":42}}');
    const admin = await raw.connectRaw("/admin");
    expect(admin).toBe('44/admin,{"message":"not authorized"}');
  });
});
