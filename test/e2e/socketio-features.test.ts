// The feature server at `/sio/` (see test/e2e/README.md) through the official
// socket.io-client, in each transport mode: handshake, payload types, acks in
// both directions, middlewares and error paths.
import { afterEach, describe, expect, it } from "vitest";
import { bytes, type Client, Clients, isBinary, MODES, settled, uid } from "../helpers/sio.js";
import { withTimeout } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

interface Welcome {
  id: string;
  auth: Record<string, unknown>;
  query: Record<string, string>;
  address: unknown;
  secure: unknown;
  url: string;
  rooms: string[];
}

describe.each(MODES)("/sio/ with socket.io-client ($name)", (mode) => {
  async function connect(options: Parameters<Clients["create"]>[2] = {}): Promise<Client> {
    const client = await clients.connect("sio", "/", { mode, ...options });
    await client.next("welcome");
    return client;
  }

  it("connects even when storing the socket fails (a storage error mid-batch)", async () => {
    // socket.data set by the middleware is too large for a SQLite row: over WebSocket,
    // where sockets are stored, the write fails; the CONNECT answer must still go out.
    const client = clients.create("sio", "/", { mode, auth: { unstorable: true } });
    await client.connected();
    const welcome = (await client.next1("welcome")) as Welcome;
    expect(welcome.id).toBe(client.id);
    const other = await connect();
    expect(other.id).not.toBe(client.id);
  });

  it("serves the router's path when the class names another (one place sets the path)", async () => {
    // `/renamed/` routes to the class of `/sio/`, whose own `path` option is "/sio/".
    const client = clients.create("renamed", "/", { mode });
    await client.connected();
    const welcome = (await client.next1("welcome")) as Welcome;
    expect(welcome.url.startsWith("/renamed/?")).toBe(true);
    client.socket.emit("echo", "through /renamed/");
    expect(await client.next("echo")).toEqual(["through /renamed/"]);
    // After the upgrade too, in the default mode.
    await settled(client, mode);
    client.socket.emit("echo", "settled");
    expect(await client.next("echo")).toEqual(["settled"]);
  });

  it("onBeforeConnect refuses a handshake at the edge, or annotates it", async () => {
    const denied = clients.create("renamed", "/", { mode, query: { deny: "1" } });
    const [error] = await denied.next("connect_error", 5_000);
    expect(String((error as Error).message)).toMatch(/xhr poll error|websocket error/);
    const client = clients.create("renamed", "/", {
      mode,
      extraHeaders: { "x-user": "alice" },
    });
    await client.connected();
    const welcome = (await client.next1("welcome")) as Welcome;
    expect(welcome.query.user).toBe("checked:alice");
    // Later requests of the session are not passed to it (the upgrade, the polls).
    await settled(client, mode);
    client.socket.emit("echo", "after");
    expect(await client.next("echo")).toEqual(["after"]);
  });

  it("describes the handshake in welcome", async () => {
    const tag = uid();
    const auth = { name: `alice-${tag}`, extra: [1, { two: 2 }] };
    const client = clients.create("sio", "/", { mode, auth, query: { custom: `q-${tag}` } });
    await client.connected();
    const welcome = (await client.next1("welcome")) as Welcome;
    expect(welcome.id).toBe(client.id);
    expect(welcome.auth).toEqual(auth);
    expect(welcome.query.custom).toBe(`q-${tag}`);
    expect(welcome.query.EIO).toBe("4");
    expect(welcome.query.transport).toBe(mode.transports?.[0] ?? "polling");
    expect(typeof welcome.address).toBe("string");
    expect((welcome.address as string).length).toBeGreaterThan(0);
    expect(welcome.secure).toBe(false);
    // Like Node's request.url: the path and query string, no scheme or host.
    expect(welcome.url.startsWith("/sio/?")).toBe(true);
    expect(welcome.url).toContain(`custom=q-${tag}`);
    expect(welcome.url).toContain("EIO=4");
    expect(welcome.rooms).toEqual([client.id]);
    await settled(client, mode);
  });

  it("echoes every JSON type unchanged", async () => {
    const client = await connect();
    const values = [
      null,
      true,
      false,
      0,
      -42,
      3.25,
      2 ** 53 - 1,
      1.5e300,
      "",
      "plain",
      [],
      {},
      [1, [2, [3, [4]]], { a: null }],
      { nested: { deeper: { list: [true, false, null, "x", 1.5] } }, "key with spaces": 1 },
    ];
    client.socket.emit("echo", ...values);
    expect(await client.next("echo")).toEqual(values);
  });

  it("echoes unicode text intact", async () => {
    const client = await connect();
    const text = 'héllo wörld – 世界 😀🎉 \u2028\u2029 "quotes" \\ back \n newline \u0001';
    client.socket.emit("echo", text, { [text]: text });
    expect(await client.next("echo")).toEqual([text, { [text]: text }]);
  });

  it("sends a Date as its ISO string", async () => {
    const client = await connect();
    const date = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    client.socket.emit("echo", date, { at: date });
    expect(await client.next("echo")).toEqual([
      "2024-02-29T12:34:56.789Z",
      { at: "2024-02-29T12:34:56.789Z" },
    ]);
  });

  it("echoes nested binary with several attachments", async () => {
    const client = await connect();
    const a = Uint8Array.from([1, 2, 3]);
    const b = Buffer.from([255, 0, 128]);
    const c = new Uint8Array(0);
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    client.socket.emit("echo", "label", { a, list: [b, { c }] }, [every, 7]);
    const [label, obj, arr] = (await client.next("echo")) as [
      string,
      { a: unknown; list: [unknown, { c: unknown }] },
      [unknown, number],
    ];
    expect(label).toBe("label");
    expect(bytes(obj.a)).toEqual([1, 2, 3]);
    expect(bytes(obj.list[0])).toEqual([255, 0, 128]);
    expect(isBinary(obj.list[1].c)).toBe(true);
    expect(bytes(obj.list[1].c)).toEqual([]);
    expect(bytes(arr[0])).toEqual([...every]);
    expect(arr[1]).toBe(7);
  });

  it("acknowledges client events (echo-ack), binary included", async () => {
    const client = await connect();
    expect(await client.request("echo-ack", "a", 1, { b: [null] })).toEqual([
      "a",
      1,
      { b: [null] },
    ]);
    expect(await client.request("echo-ack")).toEqual([]);
    const [bin] = await client.request("echo-ack", { deep: [Buffer.from([5, 6])] });
    expect(bytes((bin as { deep: unknown[] }).deep[0])).toEqual([5, 6]);
  });

  it("client.timeout().emitWithAck resolves with the first argument", async () => {
    const client = await connect();
    await expect(
      client.socket.timeout(3_000).emitWithAck("echo-ack", "first", "second"),
    ).resolves.toBe("first");
  });

  it("server→client ack without timeout: the client's answer comes back", async () => {
    const client = await connect();
    client.socket.on("question", (text: string, ack: (...a: unknown[]) => void) =>
      ack(`re: ${text}`, 42),
    );
    expect(await client.call("ask", null)).toEqual(["re: what?", "42"]);
  });

  it("server→client ack with a timeout: answered in time → [null, ...answer]", async () => {
    const client = await connect();
    client.socket.on("question", (_text: string, ack: (...a: unknown[]) => void) => ack("yes"));
    expect(await client.call("ask", 2_000)).toEqual(["null", "yes"]);
  });

  it('server→client ack with a timeout: unanswered → "operation has timed out"', async () => {
    const client = await connect();
    const asked: unknown[] = [];
    client.socket.on("question", (text: string) => asked.push(text));
    const started = Date.now();
    expect(await client.call("ask", 300)).toEqual(["Error: operation has timed out"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(asked).toEqual(["what?"]);
  });

  it("server emitWithAck (ask-with-ack): answered and unanswered", async () => {
    const client = await connect();
    let answer = true;
    client.socket.on("question", (text: string, ack: (...a: unknown[]) => void) => {
      if (answer) ack({ got: text }, "ignored second argument");
    });
    expect(await client.call("ask-with-ack")).toEqual({ answer: { got: "what?" } });
    answer = false;
    const started = Date.now();
    const result = await withTimeout(client.call("ask-with-ack"), 6_000, "ask-with-ack timeout");
    expect(result).toEqual({ error: "operation has timed out" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_800);
  });

  it("emitting a reserved event name throws on the server", async () => {
    const client = await connect();
    expect(await client.call("reserved")).toBe('"disconnect" is a reserved event name');
  });

  it("socket.use refusal reaches the error listener and drops the event", async () => {
    const client = await connect();
    client.socket.emit("forbidden", 1, 2);
    expect(await client.next("socket-error")).toEqual(["forbidden event"]);
    // Still connected and working afterwards.
    client.socket.emit("echo", "after");
    expect(await client.next("echo")).toEqual(["after"]);
    expect(client.count("forbidden")).toBe(0);
  });

  it("middleware refusal: connect_error with message and data", async () => {
    const client = clients.create("sio", "/", {
      mode,
      auth: { refuse: "nope", data: { code: 42 } },
    });
    const [error] = (await client.next("connect_error")) as [Error & { data?: unknown }];
    expect(error.message).toBe("nope");
    expect(error.data).toEqual({ code: 42 });
    expect(client.socket.connected).toBe(false);
    expect(client.count("welcome")).toBe(0);
  });

  it("middleware refusal without data: connect_error.data is undefined", async () => {
    const client = clients.create("sio", "/", { mode, auth: { refuse: "just no" } });
    const [error] = (await client.next("connect_error")) as [Error & { data?: unknown }];
    expect(error.message).toBe("just no");
    expect(error.data).toBeUndefined();
  });

  it('/admin requires auth.token "admin"', async () => {
    const refused = clients.create("sio", "/admin", { mode });
    const [error] = (await refused.next("connect_error")) as [Error & { data?: unknown }];
    expect(error.message).toBe("not authorized");
    expect(error.data).toBeUndefined();

    const wrong = clients.create("sio", "/admin", { mode, auth: { token: "guest" } });
    expect(((await wrong.next("connect_error")) as [Error])[0].message).toBe("not authorized");

    const admin = await clients.connect("sio", "/admin", { mode, auth: { token: "admin" } });
    expect(await admin.next1("welcome")).toEqual({ nsp: "/admin", id: admin.id });
    admin.socket.emit("echo", "in admin", Buffer.from([1]));
    const echo = await admin.next("echo");
    expect(echo[0]).toBe("in admin");
    expect(bytes(echo[1])).toEqual([1]);
  });

  it("200 events in a burst come back in order", async () => {
    const client = await connect();
    for (let i = 0; i < 200; i++) client.socket.emit("echo", i, `n-${i}`);
    const received: unknown[][] = [];
    for (let i = 0; i < 200; i++) received.push(await client.next("echo", 10_000));
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => [i, `n-${i}`]));
  });

  it("echoes a 500 KB string and a 500 KB binary intact", async () => {
    const client = await connect();
    const text = "0123456789abcdefghijklmnopqrstuvwxyzé".repeat(14_000).slice(0, 500_000);
    const blob = Buffer.alloc(500_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + (i >> 8)) & 0xff;
    client.socket.emit("echo", text);
    const [gotText] = await client.next("echo", 15_000);
    expect(typeof gotText).toBe("string");
    expect((gotText as string).length).toBe(text.length);
    expect(gotText === text).toBe(true);
    client.socket.emit("echo", blob);
    const [gotBlob] = await client.next("echo", 15_000);
    expect(Buffer.compare(Buffer.from(bytes(gotBlob)), blob)).toBe(0);
  });
});
