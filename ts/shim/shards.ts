/**
 * `Shards`: one object's link to the other shards of its server, over Durable Object
 * RPC.
 *
 * The object knows who it is from its own name (`ctx.id.name`, which the router chose:
 * see `ts/shards.ts`), and how many shards there are from the router's header on the
 * requests it forwards. It keeps that count in storage (read once per start, when
 * first needed) and, when it changes, tells shard 0, which code outside the server
 * (the emitter) reaches first. It finds its own namespace binding in `env`: the one
 * whose id for its name is its own id, so the user names nothing twice.
 */
import { RpcTarget } from "cloudflare:workers";
import type { AckReceiver, ShardLink, ShardPeer, ShardRequest } from "../api/cluster.js";
import { parseShardName, shardName } from "../shards.js";
import type { SocketStore } from "./store.js";

/** The RPC methods a shard offers the others (those of `SocketIoServer`). */
export interface ShardService {
  /** A request about the sockets of that shard. */
  socketIoShard(request: ShardRequest): Promise<unknown>;
  /** The number of shards changed (sent to shard 0). */
  socketIoShards(count: number): Promise<void>;
}

interface Namespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): unknown;
}

/** Storage key of the shard count. */
const COUNT_KEY = "shards";

/** The other shards of this object's server. */
export class Shards implements ShardLink {
  /** This object's shard number. */
  readonly index: number;
  /** The server's name (`undefined` when the object has no name: then no shards). */
  readonly #server: string | undefined;
  readonly #ctx: DurableObjectState;
  readonly #env: unknown;
  readonly #store: SocketStore;
  #count: number | undefined;
  #namespace: Namespace | null | undefined;
  readonly #peers = new Map<number, ShardPeer>();

  constructor(ctx: DurableObjectState, env: unknown, store: SocketStore) {
    this.#ctx = ctx;
    this.#env = env;
    this.#store = store;
    const name = ctx.id.name;
    const parsed = name === undefined ? undefined : parseShardName(name);
    this.index = parsed?.index ?? 0;
    this.#server = parsed?.name;
  }

  /** The number of shards of the server, as last learned (1 until then). */
  get count(): number {
    if (this.#count === undefined) {
      const stored = Number(this.#store.getMeta(COUNT_KEY) ?? 1);
      this.#count = Number.isInteger(stored) && stored >= 1 ? stored : 1;
    }
    return this.#count;
  }

  /**
   * The router says there are `count` shards. When that is news, it is stored and, on
   * other shards than 0, passed on to shard 0 (the promise: wait for it before
   * answering, so that shard 0 knows every shard that holds sessions).
   */
  learn(count: number): Promise<void> | undefined {
    if (count === this.count) return undefined;
    this.#count = count;
    this.#store.setMeta(COUNT_KEY, String(count));
    if (this.index === 0) return undefined;
    const first = this.#service(0);
    if (!first) return undefined;
    return first.socketIoShards(count).catch((e: unknown) => {
      console.error("socket.io-durable: telling shard 0 the shard count failed:", e);
    });
  }

  /** Shard 0 hears of a new count from another shard. */
  heard(count: number): void {
    if (count === this.count) return;
    this.#count = count;
    this.#store.setMeta(COUNT_KEY, String(count));
  }

  others(): ShardPeer[] {
    const count = this.count;
    if (count === 1 && this.index === 0) return [];
    const out: ShardPeer[] = [];
    for (let i = 0; i < count; i++) {
      if (i === this.index) continue;
      const peer = this.peer(i);
      if (peer) out.push(peer);
    }
    return out;
  }

  peer(index: number): ShardPeer | undefined {
    if (index === this.index || !Number.isInteger(index) || index < 0) return undefined;
    const known = this.#peers.get(index);
    if (known) return known;
    if (!this.#service(index)) return undefined;
    const peer: ShardPeer = {
      index,
      request: (request) => {
        const service = this.#service(index);
        if (!service) return Promise.reject(new Error("no such shard"));
        return service.socketIoShard(request);
      },
    };
    this.#peers.set(index, peer);
    return peer;
  }

  remote(receiver: AckReceiver): AckReceiver {
    return new AckTarget(receiver);
  }

  /** A fresh stub of shard `index` (a stub that saw an error may be broken for good). */
  #service(index: number): ShardService | undefined {
    const ns = this.#ownNamespace();
    if (!ns || this.#server === undefined) return undefined;
    return ns.get(ns.idFromName(shardName(this.#server, index))) as ShardService;
  }

  /** The binding of this object's class, found in `env` by the object's own id. */
  #ownNamespace(): Namespace | null {
    if (this.#namespace !== undefined) return this.#namespace;
    this.#namespace = null;
    const name = this.#ctx.id.name;
    if (name === undefined) return null;
    const env = this.#env;
    if (env === null || typeof env !== "object") return null;
    for (const value of Object.values(env)) {
      const ns = value as Partial<Namespace> | null;
      if (!ns || typeof ns.idFromName !== "function" || typeof ns.get !== "function") continue;
      try {
        if (ns.idFromName(name).equals(this.#ctx.id)) {
          this.#namespace = ns as Namespace;
          break;
        }
      } catch {
        // Not a Durable Object namespace after all.
      }
    }
    if (this.#namespace === null && this.count > 1) {
      console.error(
        "socket.io-durable: no binding of this object's class in env: shards are unreachable",
      );
    }
    return this.#namespace;
  }
}

/** A broadcast's ack collector, callable from the other shards. */
class AckTarget extends RpcTarget implements AckReceiver {
  readonly #receiver: AckReceiver;

  constructor(receiver: AckReceiver) {
    super();
    this.#receiver = receiver;
  }

  answer(response: unknown): void {
    this.#receiver.answer(response);
  }

  gone(): void {
    this.#receiver.gone();
  }
}
