/**
 * `Shards`: one object's link to the other shards of its server, over Durable Object
 * RPC.
 *
 * The object knows who it is from its own name (`ctx.id.name`, which the router chose:
 * see `ts/shards.ts`), and how many shards there are from the router's header on the
 * requests it forwards. It keeps that count in storage (read once per start, when
 * first needed) and, when it changes, tells shard 0, which code outside the server
 * (the emitter) reaches first. It finds its own namespace binding in `env`: the one
 * whose id for its name is its own id, so the user names nothing twice. An object made
 * in a jurisdiction (`ctx.id.jurisdiction`) compares with, and reaches the other shards
 * through, that jurisdiction's subnamespace of the binding: the same name makes a
 * different id in each.
 */
import { RpcTarget } from "cloudflare:workers";
import type { AckReceiver, ShardLink, ShardPeer, ShardRequest } from "../api/cluster.js";
import {
  inJurisdiction,
  type JurisdictionalNamespace,
  parseShardName,
  shardName,
} from "../shards.js";
import type { FoundSession } from "./recovery.js";
import type { SocketStore } from "./store.js";

/** The RPC methods a shard offers the others (those of `SocketIoServer`). */
export interface ShardService {
  /** A request about the sockets of that shard. */
  socketIoShard(request: ShardRequest): Promise<unknown>;
  /**
   * To shard 0: a shard heard its router state `count` shards, or (when it is beyond
   * that count) its last session closed.
   */
  socketIoShards(count: number): Promise<void>;
  /**
   * From shard 0: broadcasts reach `reach` shards, the router routes to `count`. The
   * answer: this shard's number of sessions when it is beyond `count`, else 0.
   */
  socketIoShardsReach(reach: number, count: number): Promise<number>;
  /**
   * Connection state recovery: the kept session `pid` if that shard has it (it is taken
   * from there), with its events after `offset`.
   */
  socketIoTakeSession(pid: string, offset: number): Promise<FoundSession | null>;
}

interface Namespace extends JurisdictionalNamespace<Namespace> {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): unknown;
}

/** Storage key of the number of shards that broadcasts reach. */
const REACH_KEY = "shards";
/** Storage key of the number of shards the router was last heard to route to. */
const COUNT_KEY = "shardsRouted";

/**
 * The other shards of this object's server.
 *
 * Two numbers, both kept in storage: `routed`, the count the router states (where new
 * sessions go), and `count`, how many shards may hold sessions (what broadcasts and
 * queries reach). They differ after the count shrank: the shards beyond it get no new
 * sessions, but keep serving their open WebSockets and receiving broadcasts until the
 * last of them closes; then shard 0 lowers `count`. Shard 0 decides `count` and tells
 * the others; a shard that hears a new count from its router tells shard 0 first.
 */
export class Shards implements ShardLink {
  /** This object's shard number. */
  readonly index: number;
  /** The server's name (`undefined` when the object has no name: then no shards). */
  readonly #server: string | undefined;
  readonly #ctx: DurableObjectState;
  readonly #env: unknown;
  readonly #meta: SocketStore;
  /** This shard's number of open sessions. */
  readonly #sessions: () => number;
  #count: number | undefined;
  #routed: number | undefined;
  #namespace: Namespace | null | undefined;
  readonly #peers = new Map<number, ShardPeer>();
  /** Shard 0: the count being settled (one settling at a time). */
  #settling: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: unknown, store: SocketStore, sessions: () => number) {
    this.#ctx = ctx;
    this.#env = env;
    this.#meta = store;
    this.#sessions = sessions;
    const name = ctx.id.name;
    const parsed = name === undefined ? undefined : parseShardName(name);
    this.index = parsed?.index ?? 0;
    this.#server = parsed?.name;
  }

  /** The server's name (the same on every shard), if the object has one. */
  get server(): string | undefined {
    return this.#server;
  }

  /** How many shards may hold sessions: those that broadcasts reach (1 until known). */
  get count(): number {
    if (this.#count === undefined) this.#count = this.#stored(REACH_KEY) ?? 1;
    return this.#count;
  }

  /** How many shards the router was last heard to route new sessions to. */
  get routed(): number {
    if (this.#routed === undefined) this.#routed = this.#stored(COUNT_KEY) ?? this.count;
    return this.#routed;
  }

  #stored(key: string): number | undefined {
    const value = Number(this.#meta.getMeta(key));
    return Number.isInteger(value) && value >= 1 ? value : undefined;
  }

  #set(count: number, routed: number): void {
    if (count !== this.count) this.#meta.setMeta(REACH_KEY, String(count));
    if (routed !== this.routed) this.#meta.setMeta(COUNT_KEY, String(routed));
    this.#count = count;
    this.#routed = routed;
  }

  /**
   * The router of this request says there are `count` shards. When that is news, it
   * is stored and passed on to shard 0 (the promise: wait for it before answering, so
   * that shard 0, and through it every shard, knows of this shard's new sessions).
   */
  learn(count: number): Promise<void> | undefined {
    if (count === this.routed) return undefined;
    if (this.index === 0) {
      this.heard(count);
      return undefined;
    }
    this.#set(Math.max(count, this.count), count);
    const first = this.#service(0);
    if (!first) return undefined;
    return first.socketIoShards(count).catch((e: unknown) => {
      console.error("socket.io-durable: telling shard 0 the shard count failed:", e);
    });
  }

  /**
   * Shard 0: a router routes to `count` shards (or a shard beyond that count says its
   * last session closed). Settled in the background: every shard is told, and `count`
   * lowered to the shards that still hold sessions.
   */
  heard(count: number): void {
    this.#set(Math.max(count, this.count), count);
    this.#queueSettle(0);
  }

  /** Settles after the settling in progress; a failed one does not stop the next. */
  #queueSettle(upTo: number): void {
    this.#settling = this.#settling
      .then(() => this.#settle(upTo))
      .catch((e: unknown) => {
        console.error("socket.io-durable: settling the shard count failed:", e);
      });
  }

  /**
   * Shard 0 tells every other shard (up to `upTo`, when the count was just lowered
   * from there) the counts; lowers `count` when it can.
   */
  async #settle(upTo: number): Promise<void> {
    const reach = this.count;
    const routed = this.routed;
    const answers = await Promise.all(
      Array.from({ length: Math.max(reach, upTo) - 1 }, (_, k) => {
        const service = this.#service(k + 1);
        if (!service) return Promise.resolve(1);
        return service.socketIoShardsReach(reach, routed).catch((e: unknown) => {
          console.error(`socket.io-durable: telling shard ${k + 1} the shard count failed:`, e);
          return 1; // unknown: it may hold sessions
        });
      }),
    );
    if (routed >= reach || this.count !== reach || this.routed !== routed) return;
    // Up to the highest shard beyond the router's count that still holds sessions.
    let needed = routed;
    for (let k = routed; k < reach; k++) {
      if ((answers[k - 1] ?? 1) > 0) needed = k + 1;
    }
    if (needed < reach) {
      this.#set(needed, routed);
      this.#queueSettle(reach);
    }
  }

  /**
   * From shard 0: broadcasts reach `count` shards, the router routes to `routed`.
   * Returns this shard's number of sessions when it is beyond `routed` (it drains).
   */
  told(count: number, routed: number): number {
    this.#set(count, routed);
    return this.index >= routed ? this.#sessions() : 0;
  }

  /**
   * A session of this shard closed. When the shard is beyond the router's count and
   * that was its last session, shard 0 hears of it (and may stop reaching this shard).
   */
  closed(): void {
    if (this.index === 0 || this.index < this.routed || this.index >= this.count) return;
    // After the close is carried out (counting sessions may revive hibernated ones).
    queueMicrotask(() => {
      if (this.#sessions() > 0) return;
      this.#service(0)
        ?.socketIoShards(this.routed)
        .catch((e: unknown) => {
          console.error("socket.io-durable: telling shard 0 this shard drained failed:", e);
        });
    });
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

  /**
   * Connection state recovery: asks every other shard, at once, for the kept session
   * `pid` (a client reconnects to whichever shard its new session was routed to); the
   * one that has it hands it over. A shard that fails counts as not having it.
   */
  async takeSession(pid: string, offset: number): Promise<FoundSession | null> {
    const asks = this.others().map((p) =>
      (this.#service(p.index)?.socketIoTakeSession(pid, offset) ?? Promise.resolve(null)).catch(
        (e: unknown) => {
          console.error(`socket.io-durable: shard ${p.index} failed to look up a session:`, e);
          return null;
        },
      ),
    );
    for (const found of await Promise.all(asks)) if (found) return found;
    return null;
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

  /**
   * The binding of this object's class, found in `env` by the object's own id (in the
   * object's jurisdiction, if it has one: then the binding's subnamespace of it).
   */
  #ownNamespace(): Namespace | null {
    if (this.#namespace !== undefined) return this.#namespace;
    this.#namespace = null;
    const id = this.#ctx.id;
    const name = id.name;
    if (name === undefined) return null;
    const env = this.#env;
    if (env === null || typeof env !== "object") return null;
    const jurisdiction = (id.jurisdiction ?? undefined) as DurableObjectJurisdiction | undefined;
    for (const value of Object.values(env)) {
      // Only namespaces: a service binding answers any method name, over RPC.
      if (Object.prototype.toString.call(value) !== "[object DurableObjectNamespace]") continue;
      const ns = value as Partial<Namespace>;
      if (typeof ns.idFromName !== "function" || typeof ns.get !== "function") continue;
      try {
        const own = inJurisdiction(ns as Namespace, jurisdiction, "socket.io-durable");
        if (id.equals(own.idFromName(name))) {
          this.#namespace = own;
          break;
        }
      } catch {
        // Ids of another class cannot be compared, or no subnamespace of the jurisdiction.
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
