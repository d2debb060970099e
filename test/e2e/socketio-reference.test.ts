// The reference server of the Socket.IO protocol test suite, mounted at
// `/socket.io/` (see test/e2e/README.md): raw packets over a raw WebSocket, and
// the official socket.io-client in its three transport modes.
import { afterEach, describe, expect, it } from "vitest";
import { httpUrl, request } from "../helpers/eio.js";
import { bytes, Clients, MODES, type RawSio, uid } from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

const SID = /^[A-Za-z0-9_-]{20}$/;

/** A raw session connected to `/`, with the `auth` event already read. */
async function rawConnected(auth?: unknown): Promise<{ raw: RawSio; sid: string }> {
  const raw = await clients.raw("socket.io");
  const sid = await raw.connect("/", auth);
  expect(await raw.nextText()).toBe(`42["auth",${JSON.stringify(auth ?? {})}]`);
  return { raw, sid };
}

describe("raw packets: CONNECT", () => {
  it("answers 40 with exactly {sid} (20 characters), then emits auth {}", async () => {
    const raw = await clients.raw("socket.io");
    raw.send("40");
    const answer = await raw.nextText();
    expect(answer).toMatch(/^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    const { sid } = JSON.parse(answer.slice(2)) as { sid: string };
    expect(sid).not.toBe(raw.open.sid);
    expect(await raw.nextText()).toBe('42["auth",{}]');
  });

  it("passes the CONNECT payload of / as handshake auth", async () => {
    const raw = await clients.raw("socket.io");
    raw.send('40{"token":"123","n":[1,{"x":null}]}');
    expect(await raw.nextText()).toMatch(/^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    expect(await raw.nextText()).toBe('42["auth",{"token":"123","n":[1,{"x":null}]}]');
  });

  it("connects /custom without and with a payload", async () => {
    const raw = await clients.raw("socket.io");
    raw.send("40/custom,");
    expect(await raw.nextText()).toMatch(/^40\/custom,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    expect(await raw.nextText()).toBe('42/custom,["auth",{}]');

    const other = await clients.raw("socket.io");
    other.send('40/custom,{"token":"abc"}');
    expect(await other.nextText()).toMatch(/^40\/custom,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    expect(await other.nextText()).toBe('42/custom,["auth",{"token":"abc"}]');
  });

  it("gives distinct ids to / and /custom on one engine session", async () => {
    const raw = await clients.raw("socket.io");
    const main = await raw.connect("/");
    expect(await raw.nextText()).toBe('42["auth",{}]');
    const custom = await raw.connect("/custom");
    expect(await raw.nextText()).toBe('42/custom,["auth",{}]');
    expect(main).toMatch(SID);
    expect(custom).toMatch(SID);
    expect(custom).not.toBe(main);
  });

  it('refuses an unknown namespace with 44/random,{"message":"Invalid namespace"}', async () => {
    const raw = await clients.raw("socket.io");
    raw.send("40/random,");
    expect(await raw.nextText()).toBe('44/random,{"message":"Invalid namespace"}');
    // The engine session itself stays usable.
    await raw.connect("/");
    expect(await raw.nextText()).toBe('42["auth",{}]');
  });

  it("refuses an unknown namespace sent without the trailing comma", async () => {
    const raw = await clients.raw("socket.io");
    raw.send("40/random");
    expect(await raw.nextText()).toBe('44/random,{"message":"Invalid namespace"}');
  });
});

describe("raw packets: events and acks", () => {
  it("echoes a plain event as message-back, byte for byte", async () => {
    const { raw } = await rawConnected();
    raw.send('42["message",1,"2",{"3":[true]}]');
    expect(await raw.nextText()).toBe('42["message-back",1,"2",{"3":[true]}]');
  });

  it("echoes an event with two binary attachments as a binary event", async () => {
    const { raw } = await rawConnected();
    raw.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    raw.send(Uint8Array.from([1, 2, 3]));
    raw.send(Uint8Array.from([4, 5, 6]));
    expect(await raw.nextText()).toBe(
      '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    );
    expect([...(await raw.nextBinary())]).toEqual([1, 2, 3]);
    expect([...(await raw.nextBinary())]).toEqual([4, 5, 6]);
  });

  it("acknowledges an event with the same arguments and id", async () => {
    const { raw } = await rawConnected();
    raw.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    expect(await raw.nextText()).toBe('43456[1,"2",{"3":[false]}]');
  });

  it("acknowledges a binary event with a binary ack", async () => {
    const { raw } = await rawConnected();
    raw.send(
      '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    );
    raw.send(Uint8Array.from([1, 2, 3]));
    raw.send(Uint8Array.from([4, 5, 6]));
    expect(await raw.nextText()).toBe(
      '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    );
    expect([...(await raw.nextBinary())]).toEqual([1, 2, 3]);
    expect([...(await raw.nextBinary())]).toEqual([4, 5, 6]);
  });

  it("acknowledges with an empty array when the event had no other argument", async () => {
    const { raw } = await rawConnected();
    raw.send('427["message-with-ack"]');
    expect(await raw.nextText()).toBe("437[]");
  });
});

describe("raw packets: invalid input closes that connection only", () => {
  const invalid: Array<[string, Array<string | Uint8Array>]> = [
    ["unknown packet type 4abc", ["4abc"]],
    ["unknown packet type 49", ["49"]],
    ["EVENT payload that is an object", ["42{}"]],
    ["EVENT payload that is an empty array", ["42[]"]],
    ["EVENT named with a reserved name", ['42["connect"]']],
    ["EVENT payload that is not JSON", ["42abc"]],
    ["EVENT with an invalid ack id", ['42abc["message-with-ack",1]']],
    ["EVENT whose name is not a string", ['42[{"a":1}]']],
    [
      "text frame while binary attachments are expected",
      ['451-["message",{"_placeholder":true,"num":0}]', '42["message","too early"]'],
    ],
    [
      "BINARY_EVENT whose placeholder names no attachment",
      ['451-["message",{"_placeholder":true,"num":1}]', Uint8Array.of(1)],
    ],
    [
      "BINARY_EVENT whose placeholder has no number",
      ['451-["message",{"_placeholder":true,"num":"0"}]', Uint8Array.of(1)],
    ],
    ["EVENT to a namespace that was not joined", ['42/custom,["message","x"]']],
    ["a second CONNECT to an already joined namespace", ["40"]],
  ];

  it.each(invalid)("%s", async (_, frames) => {
    const { raw: witness } = await rawConnected();
    const { raw } = await rawConnected();
    for (const frame of frames) raw.send(frame);
    await raw.waitClosed(3_000);
    // Nothing reached the victim before the close (no message-back, no ack).
    expect(raw.ws.drain()).toEqual([]);
    // Another connection keeps working.
    witness.send('42["message","still here"]');
    expect(await witness.nextText()).toBe('42["message-back","still here"]');
  });

  it("closes an engine session that sends no CONNECT within connectTimeout (1 s)", async () => {
    const started = Date.now();
    const raw = await clients.raw("socket.io");
    await raw.waitClosed(4_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(elapsed).toBeLessThan(2_500);
  });

  it("keeps an engine session that did send a CONNECT past connectTimeout", async () => {
    const { raw } = await rawConnected();
    await new Promise((r) => setTimeout(r, 1_600));
    expect(raw.isOpen).toBe(true);
    raw.send('42["message","later"]');
    expect(await raw.nextText()).toBe('42["message-back","later"]');
  });
});

describe("raw packets: DISCONNECT", () => {
  it("forgets the socket after 41: an EVENT to / then closes the connection", async () => {
    const { raw } = await rawConnected();
    raw.send("41");
    raw.send('42["message","after leaving"]');
    await raw.waitClosed(3_000);
    expect(raw.ws.drain()).toEqual([]);
  });

  it("keeps the engine session after 41 and accepts a new CONNECT with a new id", async () => {
    const { raw, sid } = await rawConnected();
    raw.send("41");
    const again = await raw.connect("/");
    expect(again).toMatch(SID);
    expect(again).not.toBe(sid);
    expect(await raw.nextText()).toBe('42["auth",{}]');
    raw.send('42["message","back again"]');
    expect(await raw.nextText()).toBe('42["message-back","back again"]');
    expect(raw.isOpen).toBe(true);
  });

  it("leaving /custom keeps / working on the same connection", async () => {
    const { raw } = await rawConnected();
    await raw.connect("/custom");
    expect(await raw.nextText()).toBe('42/custom,["auth",{}]');
    raw.send("41/custom,");
    raw.send('42["message","to main"]');
    expect(await raw.nextText()).toBe('42["message-back","to main"]');
    // /custom is forgotten: an EVENT to it now closes the connection.
    raw.send('42/custom,["message"]');
    await raw.waitClosed(3_000);
  });

  it("a WebSocket closed by the client ends its engine session", async () => {
    const raw = await clients.raw("socket.io");
    const sid = raw.open.sid;
    await raw.connect("/");
    // The session is known: a polling request on its sid is refused as a
    // transport mismatch, not as an unknown session.
    const known = await request(httpUrl("socket.io", { EIO: "4", transport: "polling", sid }));
    expect(known.status).toBe(400);
    expect(JSON.parse(known.body)).not.toEqual({ code: 1, message: "Session ID unknown" });
    await raw.close();
    await waitUntil(
      () => request(httpUrl("socket.io", { EIO: "4", transport: "polling", sid })),
      (r) => r.status === 400 && r.body === '{"code":1,"message":"Session ID unknown"}',
      { what: "the session to be forgotten" },
    );
  });
});

describe.each(MODES)("socket.io-client ($name)", (mode) => {
  it("receives its auth back on / and on /custom", async () => {
    const auth = { token: `t-${uid()}`, nested: { list: [1, "two", null] } };
    const main = clients.create("socket.io", "/", { mode, auth });
    const custom = clients.create("socket.io", "/custom", { mode, auth: { other: true } });
    await Promise.all([main.connected(), custom.connected()]);
    expect(await main.next1("auth")).toEqual(auth);
    expect(await custom.next1("auth")).toEqual({ other: true });
  });

  it("receives {} as auth when none is given", async () => {
    const main = await clients.connect("socket.io", "/", { mode });
    expect(await main.next1("auth")).toEqual({});
  });

  it("message → message-back with mixed arguments, binary included", async () => {
    const main = await clients.connect("socket.io", "/", { mode });
    main.socket.emit(
      "message",
      1,
      "2",
      { 3: [true], bin: Buffer.from([0, 1, 254, 255]) },
      Uint8Array.from([9, 8, 7]),
      null,
    );
    const back = await main.next("message-back");
    expect(back).toHaveLength(5);
    expect(back[0]).toBe(1);
    expect(back[1]).toBe("2");
    const obj = back[2] as { 3: boolean[]; bin: unknown };
    expect(obj[3]).toEqual([true]);
    expect(bytes(obj.bin)).toEqual([0, 1, 254, 255]);
    expect(bytes(back[3])).toEqual([9, 8, 7]);
    expect(back[4]).toBeNull();
  });

  it("message-with-ack answers with the same arguments, binary included", async () => {
    const main = await clients.connect("socket.io", "/", { mode });
    const plain = await main.request("message-with-ack", 1, "2", { 3: [false] });
    expect(plain).toEqual([1, "2", { 3: [false] }]);
    const binary = await main.request("message-with-ack", Buffer.from([1, 2, 3]), {
      deep: [Uint8Array.from([4, 5])],
    });
    expect(binary).toHaveLength(2);
    expect(bytes(binary[0])).toEqual([1, 2, 3]);
    expect(bytes((binary[1] as { deep: unknown[] }).deep[0])).toEqual([4, 5]);
  });

  it("emitWithAck resolves with the first ack argument", async () => {
    const main = await clients.connect("socket.io", "/", { mode });
    await expect(main.socket.timeout(3_000).emitWithAck("message-with-ack", "solo")).resolves.toBe(
      "solo",
    );
  });

  it('an unknown namespace fails with connect_error "Invalid namespace"', async () => {
    const random = clients.create("socket.io", `/random-${uid()}`, { mode });
    const [error] = (await random.next("connect_error")) as [Error];
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("Invalid namespace");
    expect(random.socket.connected).toBe(false);
  });
});
