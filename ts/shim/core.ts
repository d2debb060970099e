/**
 * `Core`: the one face of the Socket.IO core that the app API (`ts/api/`) talks to.
 *
 * Every method calls the WebAssembly core, carries out the actions it returns, and makes
 * sure the end of the turn runs (answering held polls, writing the turn's room changes
 * and `socket.data`). Methods that need state the object may not have loaded since a
 * wake say so explicitly: queries over every socket load the stored index first, the
 * session count revives every hibernated session first.
 */
import type { PacketTap } from "./engine-driver.js";
import type { FoundSession } from "./recovery.js";
import { type CoreOutput, isReservedEvent, parseOffset, type SocketCore } from "./wasm.js";

/** What the facade needs from the Durable Object that owns it. */
export interface CoreOwner {
  /** Carries out actions the core returned. */
  run(actions: CoreOutput): void;
  /** Makes sure the end of the current turn runs (at once if no entry point is running). */
  endTurnSoon(): void;
  /** Loads every stored socket into the core (once per start). */
  loadIndex(): void;
  /** Hands every hibernated session back to the core (once per start). */
  reviveSessions(): void;
  /**
   * Rebuilds the JavaScript side of a stored socket this start has not met yet; true if
   * the socket exists now.
   */
  rebuild(id: string): boolean;
  /** Names of the namespaces of stored sockets. */
  storedNamespaces(): string[];
  /** The `socket.data` of socket `id` may have changed in this turn. */
  dataTouched(id: string): void;
  /**
   * Connection state recovery: the kept session `pid` with the events stored after
   * `offset` (here, or asked of the other shards: then a promise); null when there is
   * none or recovery is off.
   */
  findSession(pid: string, offset: number): FoundSession | null | Promise<FoundSession | null>;
  /** Connection state recovery: session `pid` came back, or may not; its row goes. */
  forgetSession(pid: string): void;
  /** From now on, tells `tap` of the packets of every session. */
  tapPackets(tap: PacketTap): void;
}

/** Result of an emit that asked for acknowledgements. */
export interface AckTargets {
  /** The ack id the recipients answer with. */
  ackId: number;
  /** The sockets the packet went to (for a broadcast). */
  recipients: string[];
}

/** The Socket.IO core as the app API uses it. */
export class Core {
  readonly #core: SocketCore;
  readonly #owner: CoreOwner;

  constructor(core: SocketCore, owner: CoreOwner) {
    this.#core = core;
    this.#owner = owner;
  }

  #apply(actions: CoreOutput): void {
    this.#owner.run(actions);
    this.#owner.endTurnSoon();
  }

  // ---- connecting -----------------------------------------------------------------

  /**
   * The id `accept` gives the socket of engine session `sid` in `nsp` made with
   * `random` (its provisional `socket.id`): from the random bytes, or for a Socket.IO v2
   * client from its session id.
   */
  socketIdOf(sid: string, nsp: string, random: Uint8Array): string {
    return this.#core.socketIdFor(sid, nsp, random);
  }

  /**
   * Accepts the pending CONNECT of engine session `sid` to `nsp` (socket id from the
   * first 15 bytes of `random`; with recovery on, its pid from 15 more). `accepted`
   * gets the socket's id (and pid) before the CONNECT answer and the socket's storage
   * run; false when the session is gone.
   */
  accept(
    sid: string,
    nsp: string,
    random: Uint8Array,
    accepted: (id: string, pid: string | undefined) => void,
  ): boolean {
    const r = this.#core.accept(sid, nsp, random);
    if (r.id !== undefined) accepted(r.id, r.pid);
    this.#apply(r.actions);
    return r.id !== undefined;
  }

  /** Whether connection state recovery is on. */
  get recovering(): boolean {
    return this.#core.recoveryWindow() !== undefined;
  }

  /**
   * The kept session a CONNECT to `nsp` asks to recover with `auth.pid` and
   * `auth.offset`, when it may be: within the window, and the client's last offset
   * still stored. A session past its window is forgotten.
   */
  findSession(
    nsp: string,
    auth: Record<string, unknown>,
  ): FoundSession | null | Promise<FoundSession | null> {
    const { pid, offset } = auth;
    if (!this.recovering || typeof pid !== "string" || typeof offset !== "string") return null;
    const at = parseOffset(offset);
    if (at === undefined) return null;
    const found = this.#owner.findSession(pid, at);
    return found instanceof Promise
      ? found.then((f) => this.#recoverable(nsp, pid, f))
      : this.#recoverable(nsp, pid, found);
  }

  #recoverable(nsp: string, pid: string, found: FoundSession | null): FoundSession | null {
    if (!found || found.session.nsp !== nsp) return null;
    const now = Date.now();
    if (!this.#core.isRecoverable(now, found.session.at, found.offsetFound)) {
      if (!this.#core.isRecoverable(now, found.session.at, true)) this.#owner.forgetSession(pid);
      return null;
    }
    return found;
  }

  /**
   * Accepts the pending CONNECT of `sid` to `nsp` as the recovery of `found`: its id,
   * rooms and missed events come back. Like {@link accept}; false when it cannot be
   * recovered after all.
   */
  acceptRecovered(
    sid: string,
    nsp: string,
    found: FoundSession,
    accepted: (id: string, pid: string | undefined) => void,
  ): boolean {
    const r = this.#core.acceptRecovered(sid, nsp, found.session, found.after);
    if (r.id !== undefined) {
      this.#owner.forgetSession(found.session.pid);
      accepted(r.id, r.pid);
    }
    this.#apply(r.actions);
    return r.id !== undefined;
  }

  /** Refuses a CONNECT with CONNECT_ERROR `dataJson`. */
  connectError(sid: string, nsp: string, dataJson: string): void {
    this.#apply(this.#core.connectError(sid, nsp, dataJson));
  }

  /**
   * Refuses a CONNECT for a middleware's error, from the JSON of its `message` and of
   * its `data` (each `undefined` when absent): CONNECT_ERROR `{ message, data }`, or for
   * a Socket.IO v2 client its `data`, else its `message`.
   */
  connectRefused(
    sid: string,
    nsp: string,
    messageJson: string | undefined,
    dataJson: string | undefined,
  ): void {
    this.#apply(this.#core.connectRefused(sid, nsp, messageJson, dataJson));
  }

  // ---- sending --------------------------------------------------------------------

  /** Throws when the app may not emit `ev` (a name reserved by the protocol). */
  assertEmittable(ev: string | symbol): void {
    if (typeof ev === "string" && isReservedEvent(ev)) {
      throw new Error(`"${ev}" is a reserved event name`);
    }
  }

  /** Sends an event to one socket; the ack id when `withAck`. */
  emitToSocket(
    id: string,
    dataJson: string,
    binaries: Uint8Array[],
    withAck: boolean,
    volatile: boolean,
  ): number | undefined {
    const r = this.#core.emitToSocket(id, dataJson, binaries, withAck, volatile);
    this.#apply(r.actions);
    return r.ackId;
  }

  /**
   * Sends an event to the sockets of `nsp` in any of `rooms` (all when empty) and none
   * of `except`, encoded once. With `withAck`, the ack id and the recipients.
   */
  broadcast(
    nsp: string,
    rooms: string[],
    except: string[],
    dataJson: string,
    binaries: Uint8Array[],
    withAck: boolean,
    volatile: boolean,
  ): AckTargets | undefined {
    this.#owner.loadIndex();
    const r = this.#core.broadcast(nsp, rooms, except, dataJson, binaries, withAck, volatile);
    this.#apply(r.actions);
    return r.ackId === undefined ? undefined : { ackId: r.ackId, recipients: r.recipients ?? [] };
  }

  /** Answers the client's ack `ackId` of socket `id`. */
  ack(id: string, ackId: number, dataJson: string, binaries: Uint8Array[]): void {
    this.#apply(this.#core.ack(id, ackId, dataJson, binaries));
  }

  // ---- rooms and leaving ----------------------------------------------------------

  /** Adds socket `id` to rooms. */
  join(id: string, rooms: string[]): void {
    this.#apply(this.#core.join(id, rooms));
  }

  /** Removes socket `id` from a room. */
  leave(id: string, room: string): void {
    this.#apply(this.#core.leave(id, room));
  }

  /** Disconnects socket `id`; with `close`, its whole connection. */
  disconnectSocket(id: string, close: boolean): void {
    this.#apply(this.#core.disconnectSocket(id, close));
  }

  /** Closes engine session `sid` from the server side. */
  closeConnection(sid: string): void {
    this.#apply(this.#core.close(sid));
  }

  // ---- queries --------------------------------------------------------------------

  /** Ids of the sockets of `nsp` in any of `rooms` (all when empty), none of `except`. */
  socketsIn(nsp: string, rooms: string[], except: string[]): string[] {
    this.#owner.loadIndex();
    return this.#core.socketsIn(nsp, rooms, except);
  }

  /** Every room of `nsp` with its members. */
  roomsIn(nsp: string): [string, string[]][] {
    this.#owner.loadIndex();
    return this.#core.roomsIn(nsp);
  }

  /** Whether a broadcast to `rooms` (all when empty) except `except` reaches socket `id`. */
  isTargeted(id: string, rooms: string[], except: string[]): boolean {
    return this.#core.isTargeted(id, rooms, except);
  }

  /** Number of sockets in room `room` of `nsp` (every stored socket loaded first). */
  roomSize(nsp: string, room: string): number {
    this.#owner.loadIndex();
    return this.#core.roomSize(nsp, room);
  }

  /** The rooms of socket `id` (its own id included). */
  roomsOf(id: string): string[] {
    return this.#core.roomsOf(id);
  }

  /** Number of open engine sessions of this object. */
  clientsCount(): number {
    this.#owner.reviveSessions();
    return this.#core.clientsCount();
  }

  // ---- state of this start --------------------------------------------------------

  /** See {@link CoreOwner.rebuild}. */
  rebuild(id: string): boolean {
    return this.#owner.rebuild(id);
  }

  /** See {@link CoreOwner.storedNamespaces}. */
  storedNamespaces(): string[] {
    return this.#owner.storedNamespaces();
  }

  /** See {@link CoreOwner.dataTouched}. */
  dataTouched(id: string): void {
    this.#owner.dataTouched(id);
  }

  /** See {@link CoreOwner.tapPackets}. */
  tapPackets(tap: PacketTap): void {
    this.#owner.tapPackets(tap);
  }
}
