// Isolation and load sanity on the `/sio/` feature server (see
// test/e2e/README.md): many concurrent clients, rooms per client, and
// exactly-once delivery of broadcasts.
import { afterEach, describe, expect, it } from "vitest";
import { type Client, Clients, uid } from "../helpers/sio.js";

const clients = new Clients();
afterEach(() => clients.closeAll());

const N = 50;

describe("50 concurrent websocket clients", () => {
  it("each in its own room and a shared room: casts reach exactly the right sockets once", async () => {
    const tag = uid();
    const shared = `shared-${tag}`;
    const list: Client[] = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        clients.connect("sio", "/", { transports: ["websocket"], auth: { name: `n${i}` } }),
      ),
    );
    await Promise.all(list.map((c) => c.next("welcome", 10_000)));
    expect(new Set(list.map((c) => c.id)).size).toBe(N);
    const own = list.map((_, i) => `own-${tag}-${i}`);
    const rooms = await Promise.all(list.map((c, i) => c.call("join", [own[i], shared])));
    expect(rooms).toEqual(list.map((c, i) => [c.id, own[i], shared]));

    // The shared room, sent by a member with io.to (the sender included).
    const sender = list[0] as Client;
    await sender.call("cast", {
      rooms: [shared],
      event: "all",
      args: [tag, { big: "x".repeat(1_000) }],
      self: true,
    });
    const got = await Promise.all(list.map((c) => c.next("all", 10_000)));
    for (const args of got) expect(args).toEqual([tag, { big: "x".repeat(1_000) }]);

    // Every own room, from one sender: each client gets its own index only.
    for (let i = 0; i < N; i++)
      sender.socket.emit("cast", { rooms: [own[i]], event: "mine", args: [i], self: true });
    const mine = await Promise.all(list.map((c) => c.next("mine", 10_000)));
    expect(mine.map((args) => args[0])).toEqual(Array.from({ length: N }, (_, i) => i));

    // Flush everyone, then nothing was delivered twice or to the wrong socket.
    await Promise.all(
      list.map(async (c) => {
        const marker = `flush-${uid()}`;
        c.socket.emit("echo", marker);
        await c.next("echo", 10_000, (args) => args[0] === marker);
      }),
    );
    expect(list.map((c) => c.count("all"))).toEqual(Array(N).fill(1));
    expect(list.map((c) => c.count("mine"))).toEqual(Array(N).fill(1));

    // The server sees all of them in the shared room.
    const fetched = (await sender.call("fetch", shared)) as Array<{
      id: string;
      data: { name: string };
    }>;
    expect(fetched.map((s) => s.id).sort()).toEqual(list.map((c) => c.id).sort());
    expect(fetched.map((s) => s.data.name).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `n${i}`).sort(),
    );
  });

  it("a broadcast with ack to 50 members collects 50 answers", async () => {
    const tag = uid();
    const room = `poll-${tag}`;
    const list: Client[] = await Promise.all(
      Array.from({ length: N }, () => clients.connect("sio", "/", { transports: ["websocket"] })),
    );
    await Promise.all(list.map((c) => c.call("join", room)));
    for (const [i, c] of list.entries()) {
      c.socket.on("question", (_t: string, ack: (r: unknown) => void) => ack(i));
    }
    const asker = await clients.connect("sio", "/", { transports: ["websocket"] });
    const result = (await asker.call("poll-room", room, 5_000)) as {
      error: string | null;
      responses: number[];
    };
    expect(result.error).toBeNull();
    expect([...result.responses].sort((a, b) => a - b)).toEqual(
      Array.from({ length: N }, (_, i) => i),
    );
  });
});
