// The msgpack parser: `/msgpack/` (the `/sio/` feature server with
// `parser: require("socket.io-msgpack-parser")`) and `/msgpack-named/` (`parser:
// "msgpack"`), through the official socket.io-client configured with
// socket.io-msgpack-parser, in each transport mode; and a raw WebSocket sending
// malformed frames.
import msgpackParser from "socket.io-msgpack-parser";
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, request } from "../helpers/eio.js";
import {
  bytes,
  type Client,
  type ClientOptions,
  Clients,
  MODES,
  type RawSio,
  type SioMount,
  settled,
  uid,
} from "../helpers/sio.js";
import { sleep } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

/** notepack, as the parser uses it: one packet object to one frame. */
function encodeFrame(packet: object): Buffer {
  const [frame] = new msgpackParser.Encoder().encode(packet) as unknown as [ArrayBuffer | Buffer];
  return Buffer.from(frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame);
}

/** One frame from the server, decoded by the parser's own decoder. */
function decodeFrame(frame: Buffer): { type: number; nsp: string; data?: unknown; id?: number } {
  const decoder = new msgpackParser.Decoder();
  let packet: unknown;
  decoder.on("decoded", (p: unknown) => {
    packet = p;
  });
  decoder.add(frame);
  return packet as { type: number; nsp: string; data?: unknown; id?: number };
}

describe.each(MODES)("msgpack with socket.io-client ($name)", (mode) => {
  async function connect(
    mount: SioMount = "msgpack",
    options: ClientOptions = {},
  ): Promise<Client> {
    const client = await clients.connect(mount, "/", { mode, parser: msgpackParser, ...options });
    await client.next("welcome");
    await settled(client, mode);
    return client;
  }

  it("connects with auth, on both forms of the option", async () => {
    for (const mount of ["msgpack", "msgpack-named"] as const) {
      const client = clients.create(mount, "/", {
        mode,
        parser: msgpackParser,
        auth: { name: "ada", n: 1 },
      });
      await client.connected();
      const welcome = (await client.next1("welcome")) as { id: string; auth: unknown };
      expect(welcome.id).toBe(client.id);
      expect(welcome.auth).toEqual({ name: "ada", n: 1 });
    }
  });

  it("echoes events with mixed arguments", async () => {
    const client = await connect();
    const args = [
      "text é😀",
      0,
      -1,
      2 ** 40,
      -(2 ** 40),
      1.5,
      true,
      false,
      null,
      { a: [1, { b: "c" }], "": {} },
      [],
      "x".repeat(70_000),
    ];
    client.socket.emit("echo", ...args);
    expect(await client.next("echo")).toEqual(args);
    // What JSON has no form for arrives as JSON would carry it.
    const date = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    client.socket.emit("echo", date, undefined, Number.NaN);
    expect(await client.next("echo")).toEqual(["2024-02-29T12:34:56.789Z", null, null]);
  });

  it("carries binary both ways, nested, several per event", async () => {
    const client = await connect();
    const a = Buffer.from([1, 2, 3]);
    const big = Buffer.alloc(300_000, 7);
    const empty = Buffer.alloc(0);
    client.socket.emit("echo", "label", { a, list: [big, { empty }] }, [Buffer.from([255]), 7]);
    const [label, obj, arr] = (await client.next("echo")) as [
      string,
      { a: unknown; list: [unknown, { empty: unknown }] },
      [unknown, number],
    ];
    expect(label).toBe("label");
    expect(bytes(obj.a)).toEqual([1, 2, 3]);
    expect(Buffer.compare(Buffer.from(bytes(obj.list[0])), big)).toBe(0);
    expect(bytes(obj.list[1].empty)).toEqual([]);
    expect(bytes(arr[0])).toEqual([255]);
    expect(arr[1]).toBe(7);
    // An ArrayBuffer (notepack writes it as an extension) arrives as binary too.
    client.socket.emit("echo", new Uint8Array([9, 8]).buffer);
    const [ab] = await client.next("echo");
    expect(bytes(ab)).toEqual([9, 8]);
  });

  it("acknowledges both ways, binary included", async () => {
    const client = await connect();
    expect(await client.request("echo-ack", "a", 1, { b: [null] })).toEqual([
      "a",
      1,
      { b: [null] },
    ]);
    const [bin] = await client.request("echo-ack", { deep: [Buffer.from([5, 6])] });
    expect(bytes((bin as { deep: unknown[] }).deep[0])).toEqual([5, 6]);
    // Server → client: the server asks, the client answers, the server reports it.
    client.socket.on("question", (text: string, ack: (...a: unknown[]) => void) =>
      ack(`re: ${text}`, 42),
    );
    expect(await client.call("ask", null)).toEqual(["re: what?", "42"]);
    // With a timeout, the first argument is the (absent) error.
    expect(await client.call("ask", 3_000)).toEqual(["null", "re: what?", "42"]);
    expect(await client.call("ask-with-ack")).toEqual({ answer: "re: what?" });
  });

  it("broadcasts to rooms, binary included, once to each member", async () => {
    const room = `r-${uid()}`;
    const [sender, m1, m2, outsider] = await Promise.all([
      connect(),
      connect(),
      connect(),
      connect(),
    ]);
    await m1.request("join", room);
    await m2.request("join", room);
    await sender.request("cast", {
      rooms: [room],
      event: "news",
      args: ["hi", Buffer.from([4, 2])],
    });
    for (const m of [m1, m2]) {
      const [text, bin] = await m.next("news");
      expect(text).toBe("hi");
      expect(bytes(bin)).toEqual([4, 2]);
    }
    // A marker through the outsider's own echo: every earlier frame to it has arrived.
    outsider.socket.emit("echo", "marker");
    await outsider.next("echo");
    expect(outsider.count("news")).toBe(0);
    expect(sender.count("news")).toBe(0);
    expect(m1.count("news")).toBe(1);
    expect(m2.count("news")).toBe(1);
  });

  it("joins namespaces (static with a middleware, dynamic), multiplexed", async () => {
    const manager = clients.manager("msgpack", { mode, parser: msgpackParser });
    const main = clients.socketOf(manager, "/");
    const admin = clients.socketOf(manager, "/admin", { auth: { token: "admin" } });
    const dyn = clients.socketOf(manager, `/dyn-${uid()}`);
    await Promise.all([main.connected(), admin.connected(), dyn.connected()]);
    expect(((await admin.next1("welcome")) as { nsp: string }).nsp).toBe("/admin");
    admin.socket.emit("echo", "in admin", Buffer.from([1]));
    const [text, bin] = await admin.next("echo");
    expect(text).toBe("in admin");
    expect(bytes(bin)).toEqual([1]);
    dyn.socket.emit("echo", { dyn: true });
    expect(await dyn.next("echo")).toEqual([{ dyn: true }]);
    const refused = clients.create("msgpack", "/admin", {
      mode,
      parser: msgpackParser,
      auth: { token: "nope" },
    });
    await expect(refused.connected()).rejects.toThrow("not authorized");
  });
});

describe("msgpack on a raw WebSocket", () => {
  async function rawSocket(): Promise<RawSio> {
    const raw = await clients.raw("msgpack");
    raw.send(encodeFrame({ type: 0, nsp: "/", data: undefined }));
    const answer = decodeFrame(await raw.nextBinary());
    expect(answer.type).toBe(0);
    expect(typeof (answer.data as { sid?: unknown }).sid).toBe("string");
    // The feature server's welcome.
    const welcome = decodeFrame(await raw.nextBinary());
    expect((welcome.data as unknown[])[0]).toBe("welcome");
    return raw;
  }

  it("frames are msgpack packets both ways", async () => {
    const raw = await rawSocket();
    raw.send(
      encodeFrame({ type: 2, nsp: "/", id: 12, data: ["echo-ack", { x: Buffer.from([1]) }] }),
    );
    const ack = decodeFrame(await raw.nextBinary());
    expect(ack.type).toBe(3);
    expect(ack.id).toBe(12);
    expect(ack.nsp).toBe("/");
    const [arg] = ack.data as [{ x: unknown }];
    expect(bytes(arg.x)).toEqual([1]);
  });

  it.each([
    ["not msgpack", Buffer.from([0xc1])],
    [
      "a declared length beyond the frame",
      Buffer.from([0x81, 0xa4, 0x64, 0x61, 0x74, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]),
    ],
    ["nesting past the limit", encodeFrame({ type: 2, nsp: "/", data: ["echo", nest(150)] })],
    ["a reserved event name", encodeFrame({ type: 2, nsp: "/", data: ["disconnect"] })],
    ["a text frame", '42["echo",1]'],
  ])("%s closes that connection only", async (_, bad) => {
    const raw = await rawSocket();
    const bystander = await clients.connect("msgpack", "/", { parser: msgpackParser });
    await bystander.next("welcome");
    raw.send(bad);
    // The socket's `error` listener runs before the close (the feature server tells it).
    const error = decodeFrame(await raw.nextBinary());
    expect((error.data as unknown[])[0]).toBe("socket-error");
    await raw.waitClosed();
    bystander.socket.emit("echo", "still here");
    expect(await bystander.next("echo")).toEqual(["still here"]);
  });
});

describe("/msgpack-hib/: msgpack across an eviction of the object", () => {
  /** The object's start count (reading it is an event: only before and after the idle window). */
  async function wakes(): Promise<number> {
    const r = await request(`${baseUrl()}/__stats?mount=msgpack-hib`);
    return (JSON.parse(r.body) as { wakes: number }).wakes;
  }

  it("a revived connection keeps speaking msgpack, binary and acks included", {
    timeout: 60_000,
  }, async () => {
    const room = `r-${uid()}`;
    const options = { mode: MODES[0], parser: msgpackParser, auth: { name: "ada" } };
    const a = await clients.connect("msgpack-hib", "/", options);
    const b = await clients.connect("msgpack-hib", "/", options);
    await a.next("welcome");
    await b.next("welcome");
    await a.request("join", room);
    await b.request("join", room);
    const before = await wakes();
    // Idle long enough for wrangler dev to evict the object (10 to 15 s), before the first ping.
    await sleep(20_000);
    const [bin] = await a.request("echo-ack", { deep: [Buffer.from([7, 7])] });
    expect(bytes((bin as { deep: unknown[] }).deep[0])).toEqual([7, 7]);
    await a.request("cast", { rooms: [room], event: "news", args: [Buffer.from([1])] });
    const [news] = await b.next("news");
    expect(bytes(news)).toEqual([1]);
    expect(await a.call("whoami")).toMatchObject({
      id: a.id,
      recovered: true,
      auth: { name: "ada" },
    });
    expect(await wakes(), "the object was evicted during the idle window").toBeGreaterThan(before);
  });
});

function nest(depth: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}
