// What reaches the log when app code fails, inside workerd: the object's own
// `console.error` lines, observed (and still printed) while real clients talk to it.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
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
