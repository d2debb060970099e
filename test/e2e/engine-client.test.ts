// The official engine.io-client (npm, 6.6.8) against the fixture: WebSocket
// only, polling only, and polling upgraded to WebSocket.
import type { SocketOptions } from "engine.io-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  clientsCount,
  type Mount,
  Resources,
  settle,
  waitForClientsCount,
} from "../helpers/eio.js";
import { bytesOf, EioClient } from "../helpers/eio-client.js";

const resources = new Resources();
afterEach(() => resources.closeAll());

interface Mode {
  name: string;
  options: Partial<SocketOptions>;
  /** Transport in use once the connection is settled. */
  transport: "websocket" | "polling";
  upgrades: boolean;
}

const modes: Mode[] = [
  {
    name: "websocket only",
    options: { transports: ["websocket"] },
    transport: "websocket",
    upgrades: false,
  },
  {
    name: "polling only",
    options: { transports: ["polling"] },
    transport: "polling",
    upgrades: false,
  },
  { name: "polling upgraded to websocket", options: {}, transport: "websocket", upgrades: true },
];

async function connect(
  mount: Mount,
  mode: Mode,
  extra: Partial<SocketOptions> = {},
): Promise<EioClient> {
  const client = await EioClient.connect(mount, { ...mode.options, ...extra });
  resources.add(client, (c) => c.close());
  if (mode.upgrades) {
    expect(client.transportName).toBe("polling");
    expect(await client.waitUpgrade()).toBe("websocket");
  }
  expect(client.transportName).toBe(mode.transport);
  return client;
}

// Message tests run on /eio-steady/ (default heartbeat), heartbeat and close tests on
// /engine.io/ (300/200 ms, the protocol test suite's configuration).
describe.each(modes)("engine.io-client, $name", (mode) => {
  it("echoes a text message", async () => {
    const client = await connect("eio-steady", mode);
    client.send("hello world");
    expect(await client.next()).toBe("hello world");
  });

  it("echoes UTF-8 text intact", async () => {
    const client = await connect("eio-steady", mode);
    const text = "héllo wörld € 😀 — \u0001";
    client.send(text);
    expect(await client.next()).toBe(text);
  });

  it("echoes binary sent as Buffer, ArrayBuffer and Uint8Array with the same bytes", async () => {
    const client = await connect("eio-steady", mode);
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    client.send(Buffer.from([1, 2, 3, 4]));
    client.send(Uint8Array.from([5, 6, 7]).buffer);
    client.send(bytes);
    expect([...bytesOf(await client.next())]).toEqual([1, 2, 3, 4]);
    expect([...bytesOf(await client.next())]).toEqual([5, 6, 7]);
    expect(Buffer.compare(bytesOf(await client.next()), Buffer.from(bytes))).toBe(0);
  });

  it("keeps the order of a burst of mixed messages", async () => {
    const client = await connect("eio-steady", mode);
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 10 === 5) {
        client.send(Buffer.from(`bin-${i}`));
      } else {
        client.send(`msg-${i}`);
      }
      sent.push(i % 10 === 5 ? `bin:bin-${i}` : `msg-${i}`);
    }
    const received: string[] = [];
    for (let i = 0; i < sent.length; i++) {
      const message = await client.next(5_000);
      received.push(typeof message === "string" ? message : `bin:${bytesOf(message).toString()}`);
    }
    expect(received).toEqual(sent);
  });

  it("echoes a large message (500 KB) intact", async () => {
    const client = await connect("eio-steady", mode);
    const text = "0123456789abcdef".repeat(32_000); // 512,000 bytes
    client.send(text);
    const echo = await client.next(10_000);
    expect(typeof echo).toBe("string");
    expect((echo as string).length).toBe(text.length);
    expect(echo).toBe(text);
  });

  it("survives several heartbeats and still echoes afterwards", async () => {
    const client = await connect("engine.io", mode);
    await client.waitPings(4, 4_000);
    expect(client.isOpen).toBe(true);
    expect(client.errors).toEqual([]);
    client.send("after heartbeats");
    expect(await client.next()).toBe("after heartbeats");
  });

  it("closes cleanly, and the server forgets the session", async () => {
    await settle("engine.io");
    const client = await connect("engine.io", mode);
    expect(await clientsCount("engine.io")).toBe(1);
    client.send("bye");
    expect(await client.next()).toBe("bye");
    client.close();
    expect((await client.waitClosed()).reason).toBe("forced close");
    await waitForClientsCount("engine.io", 0, 2_000);
  });

  it("keeps two clients apart", async () => {
    const a = await connect("eio-steady", mode);
    const b = await connect("eio-steady", mode);
    expect(a.sid).not.toBe(b.sid);
    a.send("for a");
    b.send("for b");
    expect(await a.next()).toBe("for a");
    expect(await b.next()).toBe("for b");
    a.close();
    await a.waitClosed();
    b.send("b goes on");
    expect(await b.next()).toBe("b goes on");
  });
});

describe("engine.io-client, messages around the upgrade", () => {
  it("loses and reorders nothing sent before, during and after the upgrade", async () => {
    const client = await EioClient.connect("engine.io");
    resources.add(client, (c) => c.close());
    expect(client.transportName).toBe("polling");
    const upgraded = client.waitUpgrade();
    const sent: string[] = [];
    let upgradeSeenAt = -1;
    void upgraded.then(() => {
      upgradeSeenAt = sent.length;
    });
    // Keep sending until well after the upgrade.
    for (let i = 0; i < 400 && (upgradeSeenAt < 0 || sent.length < upgradeSeenAt + 20); i++) {
      const message = `seq-${i}`;
      sent.push(message);
      client.send(message);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await upgraded).toBe("websocket");
    expect(upgradeSeenAt).toBeGreaterThan(0);
    const received: string[] = [];
    for (let i = 0; i < sent.length; i++) received.push(String(await client.next(5_000)));
    expect(received).toEqual(sent);
  });
});

describe("engine.io-client against restricted mounts", () => {
  it("stays on polling when the server allows no upgrade (/eio-no-upgrade/)", async () => {
    const client = await EioClient.connect("eio-no-upgrade");
    resources.add(client, (c) => c.close());
    expect(client.transportName).toBe("polling");
    await client.waitPings(2, 3_000);
    expect(client.transportName).toBe("polling");
    client.send("no upgrade");
    expect(await client.next()).toBe("no upgrade");
  });

  it("stays on polling on a polling-only mount (/eio-polling-only/)", async () => {
    const client = await EioClient.connect("eio-polling-only");
    resources.add(client, (c) => c.close());
    await client.waitPings(2, 3_000);
    expect(client.transportName).toBe("polling");
    client.send(Buffer.from([7, 7, 7]));
    expect([...bytesOf(await client.next())]).toEqual([7, 7, 7]);
  });

  it("connects with WebSocket to the websocket-only mount (/eio-ws-only/)", async () => {
    const client = await EioClient.connect("eio-ws-only", { transports: ["websocket"] });
    resources.add(client, (c) => c.close());
    expect(client.transportName).toBe("websocket");
    client.send("ws only");
    expect(await client.next()).toBe("ws only");
  });

  it("cannot connect with polling to the websocket-only mount", async () => {
    await expect(
      EioClient.connect("eio-ws-only", { transports: ["polling"] }, 5_000),
    ).rejects.toThrow();
  });

  it("connects to /eio-auth/ with the token and is refused without it", async () => {
    await expect(
      EioClient.connect("eio-auth", { transports: ["polling"] }, 5_000),
    ).rejects.toThrow();
    await expect(
      EioClient.connect("eio-auth", { transports: ["websocket"] }, 5_000),
    ).rejects.toThrow();
    const client = await EioClient.connect("eio-auth", { query: { token: "secret" } });
    resources.add(client, (c) => c.close());
    expect(await client.waitUpgrade()).toBe("websocket");
    client.send("authorized");
    expect(await client.next()).toBe("authorized");
  });

  it("is closed by the server after sending more than maxHttpBufferSize (/eio-small/, websocket)", async () => {
    const client = await EioClient.connect("eio-small", { transports: ["websocket"] });
    resources.add(client, (c) => c.close());
    client.send("x".repeat(500));
    const { reason } = await client.waitClosed(3_000);
    expect(reason).toBe("transport close");
  });
});
