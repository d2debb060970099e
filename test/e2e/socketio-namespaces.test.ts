// Namespaces of the `/sio/` feature server (see test/e2e/README.md): dynamic
// namespaces (RegExp and function parents), the new_namespace server event,
// parent namespace broadcasts, and several namespaces multiplexed over one
// engine connection.
import { afterEach, describe, expect, it } from "vitest";
import {
  type Client,
  Clients,
  engineCount,
  MODES,
  stableEngineCount,
  uid,
} from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

/** One echo round trip (everything sent before it to this socket has arrived). */
async function flush(client: Client): Promise<void> {
  const marker = `flush-${uid()}`;
  client.socket.emit("echo", marker);
  await client.next("echo", 5_000, (args) => args[0] === marker);
}

describe.each(MODES)("dynamic namespaces ($name)", (mode) => {
  it("connects /dyn-<word> (RegExp parent) and /fn-<anything> (function parent)", async () => {
    const tag = uid();
    const dyn = await clients.connect("sio", `/dyn-abc${tag}`, { mode });
    expect(await dyn.next1("welcome")).toEqual({ nsp: `/dyn-abc${tag}`, id: dyn.id });
    dyn.socket.emit("echo", "in dyn", { n: [1] });
    expect(await dyn.next("echo")).toEqual(["in dyn", { n: [1] }]);

    const fn = await clients.connect("sio", `/fn-xyz-${tag}.anything`, { mode });
    expect(await fn.next1("welcome")).toEqual({ nsp: `/fn-xyz-${tag}.anything`, id: fn.id });
  });

  it('refuses names the parents do not accept with "Invalid namespace"', async () => {
    for (const name of ["/dyn-a.b", "/dyn-", "/dyn-a-b", "/fn", "/other"]) {
      const client = clients.create("sio", name, { mode });
      const [error] = (await client.next("connect_error")) as [Error & { description?: unknown }];
      const detail = `${name}: ${String(error.description)} ${JSON.stringify((error as { context?: { status?: number } }).context?.status)}`;
      expect(error.message, detail).toBe("Invalid namespace");
      expect(client.count("welcome")).toBe(0);
    }
  });

  it("the parent's middlewares and handlers apply to every child", async () => {
    const tag = uid();
    const a = await clients.connect("sio", `/dyn-mw${tag}`, { mode });
    const b = await clients.connect("sio", `/dyn-mw${tag}`, { mode });
    expect(await a.next1("welcome")).toEqual({ nsp: `/dyn-mw${tag}`, id: a.id });
    expect(await b.next1("welcome")).toEqual({ nsp: `/dyn-mw${tag}`, id: b.id });
    expect(a.id).not.toBe(b.id);
  });

  it("announces each new child namespace once on / (new_namespace)", async () => {
    const watcher = await clients.connect("sio", "/", { mode });
    await watcher.next("welcome");
    const tag = uid();
    const name = `/dyn-new${tag}`;
    const first = await clients.connect("sio", name, { mode });
    expect(await watcher.next1("new-namespace")).toBe(name);
    // A second socket of the same child, and a socket of an existing static namespace.
    await clients.connect("sio", name, { mode });
    await clients.connect("sio", "/admin", { mode, auth: { token: "admin" } });
    const fnName = `/fn-new-${tag}`;
    await clients.connect("sio", fnName, { mode });
    expect(await watcher.next1("new-namespace")).toBe(fnName);
    await flush(watcher);
    expect(watcher.count("new-namespace", (args) => args[0] === name)).toBe(1);
    expect(watcher.count("new-namespace", (args) => args[0] === fnName)).toBe(1);
    expect(watcher.count("new-namespace", (args) => args[0] === "/admin")).toBe(0);
    expect(first.socket.connected).toBe(true);
  });

  it("parent-cast reaches the sockets of every child, once each, and not /", async () => {
    const tag = uid();
    const a = await clients.connect("sio", `/dyn-a_${tag}`, { mode });
    const b = await clients.connect("sio", `/dyn-b_${tag}`, { mode });
    const b2 = await clients.connect("sio", `/dyn-b_${tag}`, { mode });
    const main = await clients.connect("sio", "/", { mode });
    await Promise.all([a, b, b2, main].map((c) => c.next("welcome")));
    const event = `cast-${tag}`;
    a.socket.emit("parent-cast", event);
    for (const c of [a, b, b2]) expect(await c.next(event)).toEqual([`/dyn-a_${tag}`]);
    await Promise.all([a, b, b2, main].map(flush));
    expect([a, b, b2, main].map((c) => c.count(event))).toEqual([1, 1, 1, 0]);
  });
});

describe.each(MODES)("multiplexing ($name)", (mode) => {
  it("several namespaces on one Manager share one engine connection", async () => {
    const before = await stableEngineCount("sio");
    const tag = uid();
    const manager = clients.manager("sio", { mode });
    const main = clients.socketOf(manager, "/");
    const admin = clients.socketOf(manager, "/admin", { auth: { token: "admin" } });
    const dyn = clients.socketOf(manager, `/dyn-mux${tag}`);
    const fn = clients.socketOf(manager, `/fn-mux-${tag}`);
    await Promise.all([main, admin, dyn, fn].map((c) => c.connected()));
    await Promise.all([main, admin, dyn, fn].map((c) => c.next("welcome")));
    expect(new Set([main, admin, dyn, fn].map((c) => c.id)).size).toBe(4);
    expect(manager.engine.id).toBeTruthy();
    expect(await stableEngineCount("sio")).toBe(before + 1);

    // Each namespace keeps its own traffic.
    main.socket.emit("echo", "main");
    admin.socket.emit("echo", "admin");
    dyn.socket.emit("echo", "dyn");
    expect(await main.next("echo")).toEqual(["main"]);
    expect(await admin.next("echo")).toEqual(["admin"]);
    expect(await dyn.next("echo")).toEqual(["dyn"]);

    // Leaving one namespace keeps the others and the connection.
    admin.socket.disconnect();
    dyn.socket.emit("echo", "still");
    expect(await dyn.next("echo")).toEqual(["still"]);
    expect(manager.engine.readyState).toBe("open");
    expect(await engineCount("sio")).toBe(before + 1);
  });

  it("separate Managers (forceNew) use separate engine connections", async () => {
    const before = await stableEngineCount("sio");
    const a = await clients.connect("sio", "/", { mode });
    const b = await clients.connect("sio", "/admin", { mode, auth: { token: "admin" } });
    expect(a.socket.io.engine.id).not.toBe(b.socket.io.engine.id);
    await waitUntil(
      () => engineCount("sio"),
      (n) => n === before + 2,
      { what: `clientsCount ${before + 2}` },
    );
  });
});
