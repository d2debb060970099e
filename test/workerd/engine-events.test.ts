// The events of `io.engine`, `socket.conn` and the adapter for sockets revived after an
// eviction, inside workerd: `/watched/` objects (`WatchedServer` of worker.ts) are
// rebuilt over the same storage and hibernated WebSockets (`Incarnation`), and their
// listeners, registered again by `setup`, must see the revived sessions and rooms as
// they were.
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { Incarnation, newObjectName, WireClient } from "./wire.js";
import type { HibServer } from "./worker.js";

const clients: WireClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function open(object: string): Promise<WireClient> {
  // As at the edge, where every request names its host.
  const client = await WireClient.open(object, {
    path: "/watched/",
    headers: { Host: "sio.example" },
  });
  clients.push(client);
  return client;
}

function stubOf(name: string): DurableObjectStub<HibServer> {
  return env.WATCHED.get(env.WATCHED.idFromName(name)) as unknown as DurableObjectStub<HibServer>;
}

function idOf(client: WireClient): string {
  const id = client.ids.get("/");
  if (!id) throw new Error("not connected");
  return id;
}

describe("after a wake", () => {
  it("io.engine's connection runs again for a revived session, whose socket.conn is its WebSocket", async () => {
    const name = newObjectName("watched-conn");
    const a = await open(name);
    await a.connect("/");
    const fresh = await Incarnation.start(stubOf(name));
    expect(await fresh.call(a, "/", "conn")).toEqual({
      sid: a.sid,
      transport: "websocket",
      readyState: "open",
      recovered: true,
      url: expect.stringMatching(/^https:\/\/sio\.example\/watched\/\?EIO=4&transport=websocket&/),
      remoteAddress: "127.0.0.1",
    });
    expect((await fresh.runs()).seen).toEqual([`connection ${a.sid} websocket recovered=true`]);
  });

  it("room events of a revived socket know the rooms of the sockets that have not spoken since", async () => {
    const name = newObjectName("watched-rooms");
    const a = await open(name);
    const b = await open(name);
    await a.connect("/");
    await b.connect("/");
    await b.call("/", "join", "shared");
    await a.call("/", "join", "solo");
    const ida = idOf(a);

    const fresh = await Incarnation.start(stubOf(name));
    // `b`, still in storage only, is in "shared": joining it creates nothing. To know,
    // the object loads every stored socket (and so revives `b`'s session).
    await fresh.call(a, "/", "join", "shared");
    await fresh.call(a, "/", "leave", "shared");
    await fresh.call(a, "/", "leave", "solo");
    expect((await fresh.runs()).seen).toEqual([
      `connection ${a.sid} websocket recovered=true`,
      `connection ${b.sid} websocket recovered=true`,
      `join-room shared ${ida}`,
      `leave-room shared ${ida}`,
      `leave-room solo ${ida}`,
      "delete-room solo",
    ]);
  });
});
