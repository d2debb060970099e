/**
 * `BroadcastOperator`: a target (namespace, rooms, exclusions) and flags, built by
 * chaining, then used once to emit or to act on the matching sockets.
 */
import { encode } from "./codec.js";
import { type Listener, safeCall } from "./emitter.js";
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
  /** Only this server (one object is the whole server: no effect). */
  local?: boolean;
  /** Milliseconds to wait for acknowledgements. */
  timeout?: number;
}

/**
 * A socket as `fetchSockets()` returns it. Within one object these are the live
 * sockets themselves, so everything of {@link Socket} works too.
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
 * socket when none) and in none of the `except()` rooms. Each chaining method returns
 * a new operator; the original is unchanged.
 */
export class BroadcastOperator<EmitEvents extends EventsMap, SocketData> {
  readonly #nsp: AnyNamespace;
  readonly #rooms: ReadonlySet<string>;
  readonly #except: ReadonlySet<string>;
  readonly #flags: Readonly<BroadcastFlags>;

  /** @internal */
  constructor(
    nsp: AnyNamespace,
    rooms: ReadonlySet<string> = new Set(),
    except: ReadonlySet<string> = new Set(),
    flags: Readonly<BroadcastFlags> = {},
  ) {
    this.#nsp = nsp;
    this.#rooms = rooms;
    this.#except = except;
    this.#flags = flags;
  }

  /** Also targets room(s): a socket in several of them gets the packet once. */
  to(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.#nsp, addRooms(this.#rooms, room), this.#except, this.#flags);
  }

  /** Same as {@link to}. */
  in(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /** Leaves out the sockets in room(s). */
  except(room: string | string[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.#nsp, this.#rooms, addRooms(this.#except, room), this.#flags);
  }

  /** Accepted for compatibility; compression is up to the runtime. */
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return this.#with({ compress });
  }

  /** The packet may be dropped for clients that cannot take it right now. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return this.#with({ volatile: true });
  }

  /** Only this server: one object is the whole server, so this changes nothing. */
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
    return new BroadcastOperator(this.#nsp, this.#rooms, this.#except, {
      ...this.#flags,
      ...flags,
    });
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
    const rooms = [...this.#rooms];
    const except = [...this.#except];
    const volatile = this.#flags.volatile === true;
    const core = this.#nsp.server._core;
    const collector = ack ? new AckCollector(ack, this.#flags.timeout) : undefined;
    for (const nsp of this.#nsp._targets()) {
      nsp._notifyOutgoing(rooms, except, data);
      const r = core.broadcast(nsp.name, rooms, except, json, binaries, !!collector, volatile);
      if (collector && r) {
        for (const id of r.recipients) {
          const socket = liveSocket(nsp, id);
          if (socket) collector.expect(socket, r.ackId);
        }
      }
    }
    collector?.start();
  }

  // ---- acting on the matching sockets ---------------------------------------------

  /** Ids of the matching sockets, by namespace. */
  #match(): [AnyNamespace, string[]][] {
    const core = this.#nsp.server._core;
    const rooms = [...this.#rooms];
    const except = [...this.#except];
    return this.#nsp._targets().map((nsp) => [nsp, core.socketsIn(nsp.name, rooms, except)]);
  }

  /** The matching sockets. */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    const out: AnySocket[] = [];
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) out.push(socket);
      }
    }
    return Promise.resolve(out as unknown as RemoteSocket<EmitEvents, SocketData>[]);
  }

  /** Ids of the matching sockets (prefer {@link fetchSockets}). */
  allSockets(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const [, ids] of this.#match()) for (const id of ids) out.add(id);
    return Promise.resolve(out);
  }

  /** Makes the matching sockets join room(s). */
  socketsJoin(room: string | string[]): void {
    const list = Array.isArray(room) ? room : [room];
    const core = this.#nsp.server._core;
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) socket.join(list);
        else core.join(id, list);
      }
    }
  }

  /** Makes the matching sockets leave room(s). */
  socketsLeave(room: string | string[]): void {
    const list = Array.isArray(room) ? room : [room];
    const core = this.#nsp.server._core;
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        for (const r of list) {
          if (socket) socket.leave(r);
          else core.leave(id, r);
        }
      }
    }
  }

  /** Disconnects the matching sockets; with `close`, their whole connections. */
  disconnectSockets(close = false): void {
    const core = this.#nsp.server._core;
    for (const [nsp, ids] of this.#match()) {
      for (const id of ids) {
        const socket = liveSocket(nsp, id);
        if (socket) socket.disconnect(close);
        else core.disconnectSocket(id, close);
      }
    }
  }
}

/** Gathers the acknowledgements of one broadcast and calls back once. */
class AckCollector {
  readonly #ack: Listener;
  readonly #timeout: number | undefined;
  readonly #responses: unknown[] = [];
  readonly #waiting: [AnySocket, number][] = [];
  #expected = 0;
  #started = false;
  #done = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ack: Listener, timeout: number | undefined) {
    this.#ack = ack;
    this.#timeout = timeout;
  }

  /** Waits for the answer of `socket` to ack `id`. */
  expect(socket: AnySocket, id: number): void {
    this.#expected++;
    this.#waiting.push([socket, id]);
    socket._expectAck(id, {
      answer: (args) => {
        if (this.#done) return;
        this.#responses.push(args[0]);
        this.#check();
      },
      // Without a timeout, a recipient that leaves is no longer waited for; with one,
      // its silence ends in the timeout error, as in Socket.IO.
      gone:
        this.#timeout === undefined
          ? () => {
              this.#expected--;
              this.#check();
            }
          : undefined,
    });
  }

  /** Every recipient is known: start the clock. */
  start(): void {
    this.#started = true;
    if (this.#timeout !== undefined) {
      this.#timer = setTimeout(() => this.#expire(), this.#timeout);
    }
    // Called back in a later microtask even with no recipient, never within `emit`.
    queueMicrotask(() => this.#check());
  }

  #check(): void {
    if (this.#done || !this.#started || this.#responses.length < this.#expected) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    safeCall(this.#ack, undefined, [null, this.#responses]);
  }

  #expire(): void {
    if (this.#done) return;
    this.#done = true;
    for (const [socket, id] of this.#waiting) socket._forgetAck(id);
    safeCall(this.#ack, undefined, [new Error("operation has timed out"), this.#responses]);
  }
}

/** The socket `id` of `nsp`, rebuilt from storage if this incarnation has not met it. */
function liveSocket(nsp: AnyNamespace, id: string): AnySocket | undefined {
  const known = nsp._live.get(id);
  if (known) return known as AnySocket;
  if (!nsp.server._core.rebuild(id)) return undefined;
  return nsp._live.get(id) as AnySocket | undefined;
}
