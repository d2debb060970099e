// Jurisdictions, inside workerd. workerd (as `wrangler dev` and this pool run it)
// implements no jurisdiction: `namespace.jurisdiction("eu")` throws "Jurisdiction
// restrictions are not implemented in workerd.", and no id carries a jurisdiction. So
// what runs here is checked for real: the router and the emitter ask the binding for
// the jurisdiction (and fail with the runtime's own error). What the runtime cannot do
// here is stood in for by the smallest piece, in the last test: an object id that
// carries "eu", and a binding whose `jurisdiction("eu")` is the real binding, as the
// subnamespace in which that id was made. The shard, its storage, and the other
// shard it reaches over RPC are real.
import { runInDurableObject, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { routeSocketIo, socketIo } from "../../ts/index.js";
import { shardName } from "../../ts/shards.js";
import { Shards } from "../../ts/shim/shards.js";
import { SocketStore } from "../../ts/shim/store.js";
import { newObjectName, stubOf } from "./wire.js";

const NOT_IN_WORKERD = "Jurisdiction restrictions are not implemented in workerd.";

function handshake(server: string): Request {
  return new Request(`http://localhost/hib/?EIO=4&transport=polling&object=${server}`);
}

describe("jurisdiction", () => {
  it("routeSocketIo takes every stub from the binding's jurisdiction", async () => {
    const server = newObjectName("jurisdiction-route");
    // Without the option the same request is served.
    const served = await routeSocketIo(handshake(server), env.HIB, {
      path: "/hib/",
      name: server,
    });
    expect(served?.status).toBe(200);
    await expect(
      routeSocketIo(handshake(server), env.HIB, {
        path: "/hib/",
        name: server,
        shards: 4,
        jurisdiction: "eu",
      }),
    ).rejects.toThrow(NOT_IN_WORKERD);
    // A namespace with no `jurisdiction()` cannot place objects in one.
    const plain = {
      idFromName: (name: string) => env.HIB.idFromName(name),
      get: (id: DurableObjectId) => env.HIB.get(id),
    };
    await expect(
      routeSocketIo(handshake(server), plain, { path: "/hib/", name: server, jurisdiction: "eu" }),
    ).rejects.toThrow(
      new TypeError("routeSocketIo: the namespace has no jurisdiction() to place objects with"),
    );
    // Requests outside the mount path are still the app's, whatever the option.
    const other = new Request("http://localhost/health");
    expect(await routeSocketIo(other, env.HIB, { jurisdiction: "eu" })).toBeNull();
  });

  it("the emitter takes every stub from the binding's jurisdiction", async () => {
    const server = newObjectName("jurisdiction-emitter");
    await socketIo(env.HIB, { name: server }).emit("news", 1);
    expect(() => socketIo(env.HIB, { name: server, jurisdiction: "eu" })).toThrow(NOT_IN_WORKERD);
  });

  it("a shard made in a jurisdiction reaches the other shards in it", async () => {
    const server = newObjectName("jurisdiction-shards");
    const asked: string[] = [];
    // The binding as a Worker sees it: its own ids (outside any jurisdiction) differ
    // from those of its "eu" subnamespace, which here is the real binding.
    const binding = {
      [Symbol.toStringTag]: "DurableObjectNamespace",
      idFromName: (name: string) => env.HIB.idFromName(`outside ${name}`),
      get: (id: DurableObjectId) => env.HIB.get(id),
      jurisdiction: (jurisdiction: DurableObjectJurisdiction) => {
        asked.push(jurisdiction);
        if (jurisdiction !== "eu") throw new TypeError(`unknown jurisdiction ${jurisdiction}`);
        return env.HIB;
      },
    };
    // Shard 1 of `server`, made in "eu".
    const real = env.HIB.idFromName(shardName(server, 1));
    const id: DurableObjectId = {
      name: shardName(server, 1),
      jurisdiction: "eu",
      equals: (other) => real.equals(other),
      toString: () => real.toString(),
    };
    const scratch = stubOf(newObjectName("jurisdiction-scratch"));
    const told = await runInDurableObject(scratch, async (_instance, state) => {
      const ctx = { id, storage: state.storage } as unknown as DurableObjectState;
      // A variable and a service binding (which answers any method, over RPC) come first.
      const appEnv = { NAME: "x", SERVICE: SELF, CHAT: binding };
      const store = new SocketStore(state.storage.sql);
      const shards = new Shards(ctx, appEnv, store, () => 0);
      expect(shards.index).toBe(1);
      expect(shards.server).toBe(server);
      // The router states 4 shards: shard 1 tells shard 0, in "eu".
      const learning = shards.learn(4);
      expect(learning).toBeInstanceOf(Promise);
      await learning;
      return shards.others().map((peer) => peer.index);
    });
    expect(asked).toEqual(["eu"]);
    expect(told).toEqual([0, 2, 3]);
    // Shard 0 (the real object of the server's own name, in the stood-in "eu") heard it.
    expect(await stubOf(server).stats()).toMatchObject({ shard: 0, shardsRouted: 4 });
  });
});
