/**
 * `BroadcastOperator`: a target (namespace, rooms, exclusions) and flags, built by
 * chaining, then used once to emit or to act on the matching sockets.
 */
import { AckCollector, type AckExpecter } from "./ack-collector.js";
import {
  reportShardFailure,
  type ShardPeer,
  type ShardRequest,
  type ShardTarget,
  type SocketRecord,
  tellAll,
} from "./cluster.js";
import { decode, encode, fromJson, toJson } from "./codec.js";
import type { Listener } from "./emitter.js";
import type { Namespace } from "./namespace.js";
import type { Handshake, Socket } from "./socket.js";
import type {
  AllButLast,
  DecorateAcknowledgements,
  EventNames,
  EventNamesWithError,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
} from "./typed-events.js";

/** Modifiers of an emit. */
export interface BroadcastFlags {
  /** The packet may be dropped for clients that cannot take it right now. */
  volatile?: boolean;
  /** Accepted for compatibility; compression is up to the runtime. */
  compress?: boolean;
  /** Only this shard (the sockets of this object), not the server's other shards. */
  local?: boolean;
  /** Milliseconds to wait for acknowledgements. */
  timeout?: number;
}

/**
 * A socket as `fetchSockets()` returns it. The sockets of this shard are the live
 * sockets themselves (everything of {@link Socket} works); those of other shards are
 * copies whose methods act on the shard that holds them.
 */
export interface RemoteSocket<EmitEvents extends EventsMap, SocketData> {
  /** The socket's id. */
  readonly id: string;
  /** What the client sent when it connected. */
  readonly handshake: Handshake;
  /** The rooms the socket is in. */
  readonly rooms: Set<string>;
  /** The app's data of the socket. */
  readonly data: SocketData;
  /** Sends an event to this client. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Sets a timeout for the acknowledgement of the next emit. */
  timeout(ms: number): {
    emit<Ev extends EventNames<DecorateAcknowledgements<EmitEvents>>>(
      ev: Ev,
      ...args: EventParams<DecorateAcknowledgements<EmitEvents>, Ev>
    ): boolean;
  };
  /** Joins room(s). */
  join(room: string | string[]): void;
  /** Leaves a room. */
  leave(room: string): void;
  /** Disconnects the socket; with `close`, its whole connection. */
  disconnect(close?: boolean): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: the operator serves namespaces of any event maps
type AnyNamespace = Namespace<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: idem
type AnySocket = Socket<any, any, any, any>;

function addRooms(set: ReadonlySet<string>, room: string | string[]): Set<string> {
  const out = new Set(set);
  if (Array.isArray(room)) for (const r of room) out.add(r);
  else out.add(room);
  return out;
}

/**
 * Targets a set of sockets of a namespace: those in any of the `to()` rooms (every
 * socket when none) and in none of the `except()` rooms, on every shard of the server
 * (only this one with `local`). Each chaining method returns a new operator; the
 * original is unchanged.
 */
export class BroadcastOperator<EmitEvents extends EventsMap, SocketData> {
  readonly #nsp: AnyNamespace;
  readonly #rooms: ReadonlySet<string>;
  readonly #except: ReadonlySet<string>;
  readonly #flags: Readonly<BroadcastFlags>;
  /** The one shard to act on (a socket fetched from it); every shard when absent. */
  readonly #shard: number | undefined;

  /** @internal */
  constructor(
    nsp: AnyNamespace,
    rooms: ReadonlySet<string> = new Set(),
    except: ReadonlySet<string> = new Set(),
    flags: Readonly<BroadcastFlags> = {},
    shard?: number,
  ) {
    this.#nsp = nsp;
    this.#rooms = rooms;
    this.#except = except;
    this.#flags = flags;
    this.#shard = shard;
  }

  /** Also targets room(s): a socket in several of them gets the packet once. */
  to(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(
      this.#nsp,
      addRooms(this.#rooms, room),
      this.#except,
      this.#flags,
      this.#shard,
    );
  }

  /** Same as {@link to}. */
  in(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /** Leaves out the sockets in room(s). */
  except(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(
      this.#nsp,
      this.#rooms,
      addRooms(this.#except, room),
      this.#flags,
      this.#shard,
    );
  }

  /** Accepted for compatibility; compression is up to the runtime. */
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return this.#with({ compress });
  }

  /** The packet may be dropped for clients that cannot take it right now. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return this.#with({ volatile: true });
  }

  /** Only the sockets of this shard (the whole server when it is not sharded). */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return this.#with({ local: true });
  }

  /**
   * Waits at most `ms` for the acknowledgements of the next emit: its callback then
   * gets an error and the answers received so far.
   */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return this.#with({ timeout: ms }) as unknown as BroadcastOperator<
      DecorateAcknowledgements<EmitEvents>,
      SocketData
    >;
  }

  #with(flags: BroadcastFlags): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(
      this.#nsp,
      this.#rooms,
      this.#except,
      { ...this.#flags, ...flags },
      this.#shard,
    );
  }

  /**
   * Sends an event to the targeted sockets; the payload is encoded once. When the last
   * argument is a function, it gets `(err, responses)`: `err` is `null` once every
   * recipient answered, or a timeout error after `timeout(ms)` with the answers so far
   * (the first argument of each). Without a timeout it waits until every recipient
   * answered or left.
   *
   * @returns `true`
   * @throws when `ev` is a reserved event name
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    this.#nsp.server._core.assertEmittable(ev);
    this.#emit([ev, ...args]);
    return true;
  }

  /**
   * Sends an event and resolves with one answer per recipient; rejects on timeout
   * (the error's `responses` holds the answers received so far).
   */
  emitWithAck<Ev extends EventNamesWithError<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>> {
    return new Promise((resolve, reject) => {
      this.#nsp.server._core.assertEmittable(ev);
      this.#emit([
        ev,
        ...args,
        (err: (Error & { responses?: unknown[] }) | null, responses: unknown[]) => {
          if (err) {
            err.responses = responses;
            reject(err);
          } else {
            resolve(responses as never);
          }
        },
      ]);
    });
  }

  #emit(data: unknown[]): void {
    let ack: Listener | undefined;
    if (typeof data[data.length - 1] === "function") ack = data.pop() as Listener;
    const { json, binaries } = encode(data);
    void this._emitEncoded(json, binaries, () => data, ack);
  }

  // ---- across shards --------------------------------------------------------------

  /** Whether this operator acts on the sockets of this shard. */
  #here(): boolean {
    return this.#shard === undefined || this.#shard === this.#nsp.server._shards.index;
  }

  /** The other shards this operator acts on. */
  #peers(): ShardPeer[] {
    const link = this.#nsp.server._shards;
    if (this.#shard !== undefined) {
      const peer = link.peer(this.#shard);
      return peer ? [peer] : [];
    }
    return this.#flags.local ? [] : link.others();
  }

  #target(): ShardTarget {
    return { nsp: this.#nsp.name, rooms: [...this.#rooms], except: [...this.#except] };
  }

  /**
   * Emits an encoded payload here and on the other shards (`values` gives its
   * arguments to outgoing listeners). Resolves once every shard has it; a shard that
   * fails is logged, or ends the ack collection with its error.
   * @internal
   */
  _emitEncoded(
    json: string,
    binaries: Uint8Array[],
    values: () => unknown[],
    ack?: Listener,
  ): Promise<void> {
    const collector = ack ? new AckCollector(ack, this.#flags.timeout) : undefined;
    if (this.#here()) this._deliver(json, binaries, values, collector);
    const peers = this.#peers();
    let sent: Promise<void> = Promise.resolve();
    if (peers.length > 0) {
      const link = this.#nsp.server._shards;
      const request: ShardRequest = {
        type: "emit",
        target: this.#target(),
        json,
        binaries,
        volatile: this.#flags.volatile === true,
        ack: collector ? link.remote(collector.receiver()) : undefined,
        timeout: this.#flags.timeout,
      };
      const replies = peers.map((peer) => {
        const reply = peer.request(request);
        if (collector) collector.expectShard(peer.index, reply);
        return reply.then(
          () => undefined,
          (e: unknown) => {
            if (!collector) reportShardFailure(peer.index, e);
          },
        );
      });
      sent = Promise.all(replies).then(() => undefined);
    }
    collector?.start();
    return sent;
  }

  /**
   * Delivers an encoded payload to the targeted sockets of this shard; with `acks`,
   * each recipient's answer is waited for. Returns the number of recipients waited for.
   * @internal
   */
  _deliver(
    json: string,
    binaries: Uint8Array[],
    values: () => unknown[],
    acks?: AckExpecter,
  ): number {
    const rooms = [...this.#rooms];
    const except = [...this.#except];
    const volatile = this.#flags.volatile === true;
    const core = this.#nsp.server._core;
    let count = 0;
    for (const nsp of this.#nsp._targets()) {
      nsp._notifyOutgoing(rooms, except, values);
      const r = core.broadcast(nsp.name, rooms, except, json, binaries, !!acks, volatile);
      if (acks && r) {
        for (const id of r.recipients) {
          const socket = liveSocket(nsp, id);
          if (socket) {
            acks.expect(socket, r.ackId);
            count++;
          }
        }
      }
    }
    return count;
  }

  // ---- acting on the matching sockets ---------------------------------------------

  /** Ids of the matching sockets of this shard, by namespace. */
  #match(): [AnyNamespace, string[]][] {
    if (!this.#here()) return [];
    const core = this.#nsp.server._core;
    const rooms = [...this.#rooms];
    const except = [...this.#except];
    return this.#nsp._targets().map((nsp) => [nsp, core.socketsIn(nsp.name, rooms, except)]);
  }

  /** The matching sockets of this shard, as other shards see them. @internal */
  _records(): SocketRecord[] {
    const out: SocketRecord[] = [];
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (!socket) continue;
        out.push({
          id,
          handshake: socket.handshake,
          rooms: [...socket.rooms],
          data: toJson(socket.data),
        });
      }
    }
    return out;
  }

  /** The matching sockets of every shard (rejects if a shard does not answer). */
  async fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    const out: RemoteSocket<EmitEvents, SocketData>[] = [];
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) out.push(socket as unknown as RemoteSocket<EmitEvents, SocketData>);
      }
    }
    const peers = this.#peers();
    if (peers.length === 0) return out;
    const request: ShardRequest = { type: "fetch", target: this.#target() };
    const answers = await Promise.all(
      peers.map((peer) =>
        peer.request(request).then(
          (records) => ({ peer, records: records as SocketRecord[] }),
          (e: unknown) => {
            throw new Error(`fetchSockets: shard ${peer.index} failed: ${String(e)}`);
          },
        ),
      ),
    );
    for (const { peer, records } of answers) {
      for (const record of records) {
        out.push(new ShardSocket<EmitEvents, SocketData>(this.#nsp, peer.index, record));
      }
    }
    return out;
  }

  /** Ids of the matching sockets (prefer {@link fetchSockets}). */
  async allSockets(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const socket of await this.fetchSockets()) out.add(socket.id);
    return out;
  }

  /** Makes the matching sockets join room(s). */
  socketsJoin(room: string | string[]): void {
    void this._socketsJoin(Array.isArray(room) ? room : [room]);
  }

  /** {@link socketsJoin}, resolving once every shard did it. @internal */
  _socketsJoin(rooms: string[]): Promise<void> {
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) socket.join(rooms);
        else nsp.adapter._addAll(id, rooms);
      }
    }
    return tellAll(this.#peers(), { type: "join", target: this.#target(), rooms });
  }

  /** Makes the matching sockets leave room(s). */
  socketsLeave(room: string | string[]): void {
    void this._socketsLeave(Array.isArray(room) ? room : [room]);
  }

  /** {@link socketsLeave}, resolving once every shard did it. @internal */
  _socketsLeave(rooms: string[]): Promise<void> {
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        for (const r of rooms) {
          if (socket) socket.leave(r);
          else nsp.adapter._del(id, r);
        }
      }
    }
    return tellAll(this.#peers(), { type: "leave", target: this.#target(), rooms });
  }

  /** Disconnects the matching sockets; with `close`, their whole connections. */
  disconnectSockets(close = false): void {
    void this._disconnectSockets(close);
  }

  /** {@link disconnectSockets}, resolving once every shard did it. @internal */
  _disconnectSockets(close: boolean): Promise<void> {
    const core = this.#nsp.server._core;
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) socket.disconnect(close);
        else core.disconnectSocket(id, close);
      }
    }
    return tellAll(this.#peers(), { type: "disconnect", target: this.#target(), close });
  }
}

/**
 * A socket of another shard, as `fetchSockets()` returns it: a copy of its id,
 * handshake, rooms and data, whose methods act on the shard that holds it.
 */
class ShardSocket<EmitEvents extends EventsMap, SocketData>
  implements RemoteSocket<EmitEvents, SocketData>
{
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<string>;
  readonly data: SocketData;
  /** The shard that holds it. */
  readonly shard: number;
  readonly #op: BroadcastOperator<EmitEvents, SocketData>;

  constructor(nsp: AnyNamespace, shard: number, record: SocketRecord) {
    this.shard = shard;
    this.id = record.id;
    this.handshake = record.handshake;
    this.rooms = new Set(record.rooms);
    this.data = fromJson(record.data) as SocketData;
    this.#op = new BroadcastOperator(nsp, new Set([record.id]), new Set(), {}, shard);
  }

  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.#op.emit(ev, ...args);
  }

  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return this.#op.timeout(ms);
  }

  join(room: string | string[]): void {
    this.#op.socketsJoin(room);
  }

  leave(room: string): void {
    this.#op.socketsLeave(room);
  }

  disconnect(close = false): this {
    this.#op.disconnectSockets(close);
    return this;
  }
}

/** The socket `id` of `nsp`, rebuilt from storage if this incarnation has not met it. */
function liveSocket(nsp: AnyNamespace, id: string): AnySocket | undefined {
  const known = nsp._live.get(id);
  if (known) return known as AnySocket;
  if (!nsp.server._core.rebuild(id)) return undefined;
  return nsp._live.get(id) as AnySocket | undefined;
}

/** The shard of a socket `fetchSockets()` returned, when it is not this one. */
export function shardOf(socket: object): number | undefined {
  return socket instanceof ShardSocket ? socket.shard : undefined;
}

/** The arguments of an encoded payload (for outgoing listeners of another shard's emit). */
export function payloadValues(json: string, binaries: Uint8Array[]): () => unknown[] {
  return () => decode(json, binaries);
}
