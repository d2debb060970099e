// Engine.IO v4 over HTTP long-polling, driven with raw fetch requests.
import { afterEach, describe, expect, it } from "vitest";
import {
  b64Packet,
  clientsCount,
  decodePayload,
  errorBody,
  PING_INTERVAL,
  PING_TIMEOUT,
  PollingSession,
  Resources,
  SEP,
  settle,
  waitForClientsCount,
} from "../helpers/eio.js";
import { sleep, waitUntil } from "../helpers/util.js";

const resources = new Resources();
afterEach(() => resources.closeAll());

async function openSession(
  mount: Parameters<typeof PollingSession.open>[0] = "engine.io",
): Promise<PollingSession> {
  return resources.polling(await PollingSession.open(mount));
}

/** Retries GET until the session is reported unknown, for closes that complete asynchronously. */
async function expectSessionGone(session: PollingSession, timeoutMs = 2_000): Promise<void> {
  const result = await waitUntil(
    () => session.get({}, { signal: AbortSignal.timeout(1_500) }),
    (r) => r.status === 400,
    { timeoutMs, intervalMs: 100, what: `session ${session.sid} to be unknown` },
  );
  expect(errorBody(result)).toEqual({ code: 1, message: "Session ID unknown" });
}

describe("messages", () => {
  it("echoes one text packet: POST answers 200 ok, GET returns it", async () => {
    const session = await openSession();
    const post = await session.post("4hello");
    expect(post.status).toBe(200);
    expect(post.body).toBe("ok");
    const get = await session.get();
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type") ?? "").toContain("text/plain");
    expect(get.body).toBe("4hello");
  });

  it("echoes several packets of one POST in one GET, joined by the record separator", async () => {
    const session = await openSession();
    await session.send("4test1", "4test2", "4test3");
    const get = await session.get();
    expect(get.status).toBe(200);
    expect(get.body).toBe(`4test1${SEP}4test2${SEP}4test3`);
  });

  it("echoes text and binary packets (binary as b + base64)", async () => {
    const session = await openSession();
    await session.send("4hello", b64Packet(Uint8Array.from([1, 2, 3, 4])));
    const get = await session.get();
    expect(get.status).toBe(200);
    expect(get.body).toBe(`4hello${SEP}bAQIDBA==`);
  });

  it("echoes UTF-8 text and a binary packet holding every byte value intact", async () => {
    const session = await openSession();
    const text = "4héllo wörld € 😀 \u0000 \u007f";
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await session.send(text, b64Packet(bytes));
    const [echoedText, echoedBinary] = await session.receive(2);
    expect(echoedText).toBe(text);
    expect(echoedBinary).toBe(b64Packet(bytes));
  });

  it("echoes an empty message packet", async () => {
    const session = await openSession();
    await session.send("4");
    expect(await session.receive(1)).toEqual(["4"]);
  });

  it("keeps the order of a burst of packets sent in several POSTs", async () => {
    const session = await openSession();
    const expected: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const packets = Array.from({ length: 20 }, (_, i) => `4burst-${batch * 20 + i}`);
      expected.push(...packets);
      await session.send(...packets);
    }
    const first = await session.get();
    expect(first.status).toBe(200);
    const firstPackets = decodePayload(first.body).filter((p) => p !== "2");
    if (firstPackets.length < decodePayload(first.body).length) await session.send("3");
    // Everything queued so far comes back in one GET.
    expect(firstPackets.length).toBeGreaterThan(1);
    const rest = await session.receive(expected.length - firstPackets.length);
    expect([...firstPackets, ...rest]).toEqual(expected);
  });

  it("echoes a large text message (500 KB) intact", async () => {
    const session = await openSession();
    const big = `4${"x".repeat(250_000)}${"é".repeat(125_000)}`;
    await session.send(big);
    const [echo] = await session.receive(1, 10_000);
    expect(echo.length).toBe(big.length);
    expect(echo).toBe(big);
  });

  it("holds a GET until there is something to send", async () => {
    const session = await openSession();
    const started = Date.now();
    const pending = session.get();
    await sleep(100);
    await session.send("4late");
    const get = await pending;
    expect(get.status).toBe(200);
    expect(get.body).toBe("4late");
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

describe("heartbeat", () => {
  it("holds the first GET until a ping about pingInterval after the handshake", async () => {
    const handshakeAt = Date.now();
    const session = await openSession();
    const get = await session.get();
    const elapsed = Date.now() - handshakeAt;
    expect(get.status).toBe(200);
    expect(get.body).toBe("2");
    expect(elapsed).toBeGreaterThanOrEqual(PING_INTERVAL - 50);
    expect(elapsed).toBeLessThan(PING_INTERVAL + 2_000);
  });

  it("keeps a session that answers pings alive across several heartbeats", async () => {
    const session = await openSession();
    for (let i = 0; i < 4; i++) {
      const get = await session.get();
      expect(get.status).toBe(200);
      expect(get.body).toBe("2");
      const pong = await session.post("3");
      expect(pong.status).toBe(200);
      expect(pong.body).toBe("ok");
    }
    // Still usable after more than pingInterval + pingTimeout.
    await session.send("4still-here");
    expect(await session.receive(1)).toEqual(["4still-here"]);
  });

  it("closes a session that does not answer the ping", async () => {
    await settle("engine.io");
    const session = await openSession();
    expect(await clientsCount("engine.io")).toBe(1);
    const get = await session.get();
    expect(get.body).toBe("2");
    // No pong: the session must be gone after pingTimeout (with slack for alarms).
    await sleep(PING_TIMEOUT + 1_300);
    const after = await session.get();
    expect(after.status).toBe(400);
    expect(errorBody(after)).toEqual({ code: 1, message: "Session ID unknown" });
    await waitForClientsCount("engine.io", 0);
  });

  it("closes a session that never polls", async () => {
    await settle("engine.io");
    const session = await openSession();
    await sleep(PING_INTERVAL + PING_TIMEOUT + 1_000);
    const after = await session.get();
    expect(after.status).toBe(400);
    expect(errorBody(after)).toEqual({ code: 1, message: "Session ID unknown" });
    expect(await clientsCount("engine.io")).toBe(0);
  });
});

describe("closing", () => {
  it("answers a pending GET with noop (6) when the client POSTs close (1)", async () => {
    await settle("engine.io");
    const session = await openSession();
    const pending = session.get();
    await sleep(50);
    const post = await session.post("1");
    expect(post.status).toBe(200);
    const get = await pending;
    expect(get.status).toBe(200);
    expect(get.body).toBe("6");
    await expectSessionGone(session);
    await waitForClientsCount("engine.io", 0);
  });

  it("closes the session on a close packet without a pending GET", async () => {
    await settle("engine.io");
    const session = await openSession();
    expect((await session.post("1")).status).toBe(200);
    await expectSessionGone(session);
    await waitForClientsCount("engine.io", 0);
  });

  it("closes the session on two concurrent GETs: the first gets close (1), the second 400", async () => {
    await settle("engine.io");
    const session = await openSession();
    const first = session.get();
    await sleep(50);
    const second = await session.get({ t: "overlap" });
    expect(second.status).toBe(400);
    const firstResult = await first;
    expect(firstResult.status).toBe(200);
    expect(firstResult.body).toBe("1");
    await expectSessionGone(session);
    await waitForClientsCount("engine.io", 0);
  });

  it("answers 400 to an invalid packet and closes the session", async () => {
    await settle("engine.io");
    const session = await openSession();
    const post = await session.post("abc");
    expect(post.status).toBe(400);
    await expectSessionGone(session);
    await waitForClientsCount("engine.io", 0);
  });

  it("answers 400 to a payload with an invalid packet among valid ones and closes the session", async () => {
    const session = await openSession();
    const post = await session.post(`4fine${SEP}9bad`);
    expect(post.status).toBe(400);
    await expectSessionGone(session);
  });

  it("answers 400 to a POST with Content-Type application/octet-stream and closes the session", async () => {
    const session = await openSession();
    const post = await session.post("4binary?", {
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(post.status).toBe(400);
    await expectSessionGone(session);
  });

  it("reads a POST that is not UTF-8 with U+FFFD in place of the bad bytes, as Node does", async () => {
    const session = await openSession();
    const body = Buffer.concat([Buffer.from("4a"), Buffer.from([0xff]), Buffer.from("b")]);
    const post = await session.post(new Uint8Array(body));
    expect(post.status).toBe(200);
    expect(await session.receive(1)).toEqual(["4a\ufffdb"]);
  });

  it("answers 413 to a POST larger than maxHttpBufferSize and closes the session (/eio-small/)", async () => {
    await settle("eio-small");
    const session = await openSession("eio-small");
    expect(session.open.maxPayload).toBe(100);
    const post = await session.post(`4${"x".repeat(199)}`);
    expect(post.status).toBe(413);
    await expectSessionGone(session);
    await waitForClientsCount("eio-small", 0);
  });

  it("accepts a POST right at maxHttpBufferSize (/eio-small/)", async () => {
    const session = await openSession("eio-small");
    const packet = `4${"y".repeat(99)}`;
    expect(Buffer.byteLength(packet)).toBe(100);
    const post = await session.post(packet);
    expect(post.status).toBe(200);
    expect(await session.receive(1)).toEqual([packet]);
  });
});

describe("isolation", () => {
  it("a malformed packet on one session leaves another session working", async () => {
    const healthy = await openSession();
    const victim = await openSession();
    expect((await victim.post("abc")).status).toBe(400);
    await healthy.send("4unaffected");
    expect(await healthy.receive(1)).toEqual(["4unaffected"]);
    await expectSessionGone(victim);
  });

  it("an overlapping GET on one session leaves another session working", async () => {
    const healthy = await openSession();
    const victim = await openSession();
    const first = victim.get();
    await sleep(50);
    expect((await victim.get({ t: "overlap" })).status).toBe(400);
    await first;
    await healthy.send("4still-fine");
    expect(await healthy.receive(1)).toEqual(["4still-fine"]);
  });

  it("an oversized POST on one session leaves another session working (/eio-small/)", async () => {
    const healthy = await openSession("eio-small");
    const victim = await openSession("eio-small");
    expect((await victim.post(`4${"z".repeat(300)}`)).status).toBe(413);
    await healthy.send("4small-ok");
    expect(await healthy.receive(1)).toEqual(["4small-ok"]);
  });

  it("requests with bad parameters leave an open session working", async () => {
    const healthy = await openSession();
    const bad = new PollingSession("engine.io", "not-a-session", healthy.open);
    expect((await bad.post("4x")).status).toBe(400);
    expect((await bad.get()).status).toBe(400);
    await healthy.send("4ok");
    expect(await healthy.receive(1)).toEqual(["4ok"]);
  });

  it("messages of two sessions never cross", async () => {
    const a = await openSession();
    const b = await openSession();
    await a.send("4for-a-1", "4for-a-2");
    await b.send("4for-b");
    expect(await b.receive(1)).toEqual(["4for-b"]);
    expect(await a.receive(2)).toEqual(["4for-a-1", "4for-a-2"]);
  });
});
