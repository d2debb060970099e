// What reaches the log when app code fails, inside workerd: the object's own
// `console.error` lines, observed (and still printed) while real clients talk to it.
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
