// What reaches the log when app code fails, inside workerd: the object's own
// `console.error` lines, observed (and still printed) while real clients talk to it.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { debugEnabled } from "../../ts/debug.js";
import { newObjectName, WireClient } from "./wire.js";

const clients: WireClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  vi.restoreAllMocks();
});

describe("listener errors", () => {
  it("name the event, the socket and the namespace, and harm nothing else", async () => {
    const errors = vi.spyOn(console, "error");
    const client = await WireClient.open(newObjectName("logs"));
    clients.push(client);
    const main = await client.connect("/");
    const admin = await client.connect("/admin");
    client.send(WireClient.emitFrame("/", "explode", "throw"));
    client.send(WireClient.emitFrame("/admin", "explode", "reject"));
    // The connection and both sockets keep working.
    expect(await client.call("/", "whoami")).toMatchObject({ id: main });
    expect(await client.call("/admin", "whoami")).toMatchObject({ id: admin });
    const lines = errors.mock.calls.map((args) => [String(args[0]), String(args[1])]);
    expect(lines).toContainEqual([
      `socket.io-durable: uncaught error in a listener of event "explode" (socket ${main}, namespace "/"):`,
      "Error: kaboom",
    ]);
    expect(lines).toContainEqual([
      `socket.io-durable: uncaught error in a listener of event "explode" (socket ${admin}, namespace "/admin"):`,
      "Error: kaboom later",
    ]);
  });
});

describe("a setup() that fails", () => {
  for (const path of ["/broken/", "/broken-later/"]) {
    it(`${path}: every request is answered 500, and the failure is logged once`, async () => {
      const errors = vi.spyOn(console, "error");
      for (let i = 0; i < 3; i++) {
        const r = await SELF.fetch(`http://localhost${path}?EIO=4&transport=polling`);
        expect(r.status).toBe(500);
        expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
        expect(await r.text()).toBe("Internal Server Error");
      }
      const failures = errors.mock.calls.filter((args) =>
        String(args[0]).startsWith("socket.io-durable: setup() failed"),
      );
      expect(failures).toHaveLength(1);
      expect(String(failures[0]?.[1])).toContain("setup broke");
    });
  }
});

/** The console.log lines so far that a debug log of this package printed. */
function debugLines(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls
    .map((args) => String(args[0]))
    .filter((l) => l.startsWith("socket.io-durable:"));
}

/** Waits until `lines()` has `line` (a close reaches the object a little later). */
async function waitForLine(lines: () => string[], line: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!lines().includes(line)) {
    if (Date.now() > deadline) throw new Error(`never logged: ${line}\n${lines().join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("debug logs", () => {
  it("with debug on: sessions, sockets, refusals and disconnect reasons", async () => {
    const logs = vi.spyOn(console, "log");
    const object = newObjectName("debug");
    const bad = await SELF.fetch(
      `http://localhost/debug/?EIO=5&transport=polling&object=${object}`,
    );
    expect(bad.status).toBe(400);
    const client = await WireClient.open(object, { path: "/debug/" });
    clients.push(client);
    const id = await client.connect("/");
    client.send(WireClient.connectFrame("/nowhere"));
    await client.next((f) => f.startsWith("44/nowhere,"));
    client.close();
    const lines = () => debugLines(logs);
    await waitForLine(
      lines,
      `socket.io-durable:socket socket ${id} disconnected from / (transport close)`,
    );
    expect(lines()).toEqual([
      "socket.io-durable:engine refused GET ?EIO=5&transport=polling&object=" +
        `${object}: 400 {"code":5,"message":"Unsupported protocol version"}`,
      `socket.io-durable:engine session ${client.sid} opened over websocket`,
      `socket.io-durable:socket socket ${id} of session ${client.sid} connected to /`,
      `socket.io-durable:socket connection of session ${client.sid} to /nowhere refused: no such namespace`,
      `socket.io-durable:socket socket ${id} disconnected from / (transport close)`,
      `socket.io-durable:engine session ${client.sid} closed (transport close)`,
    ]);
  });

  it("with debug off (the default): nothing", async () => {
    const logs = vi.spyOn(console, "log");
    const client = await WireClient.open(newObjectName("quiet"));
    await client.connect("/");
    expect(await client.call("/", "whoami")).toBeTruthy();
    client.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(debugLines(logs)).toEqual([]);
  });
});

describe("debugEnabled", () => {
  it("reads DEBUG as the debug package does", () => {
    expect(debugEnabled("socket.io*", "socket.io-durable:engine")).toBe(true);
    expect(debugEnabled("socket.io-durable:socket", "socket.io-durable:engine")).toBe(false);
    expect(debugEnabled("*,-socket.io-durable:engine", "socket.io-durable:engine")).toBe(false);
    expect(debugEnabled("*,-socket.io-durable:engine", "socket.io-durable:socket")).toBe(true);
    expect(debugEnabled("express:* socket.io-durable:*", "socket.io-durable:socket")).toBe(true);
    expect(debugEnabled("", "socket.io-durable:socket")).toBe(false);
  });
});
