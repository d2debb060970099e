/**
 * `nsp.adapter`: the rooms of a namespace, read from the core, and the room events of
 * Socket.IO's in-memory adapter (`create-room`, `join-room`, `leave-room`,
 * `delete-room`), in its order and with its arguments.
 *
 * Nothing is computed for the events unless they have listeners: a join then costs one
 * look at four listener lists.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: namespaces of any event maps

import { TypedEmitter } from "./emitter.js";
import type { Namespace } from "./namespace.js";

/** The events of an adapter (Socket.IO's names and arguments). */
export interface AdapterReservedEvents {
  /** A room got its first member (each socket's own room too, when it connects). */
  "create-room": (room: string) => void;
  /** Socket `id` joined `room` (after `create-room` when the room is new). */
  "join-room": (room: string, id: string) => void;
  /** Socket `id` left `room` (before `delete-room` when it was the last member). */
  "leave-room": (room: string, id: string) => void;
  /** A room lost its last member. */
  "delete-room": (room: string) => void;
}

/**
 * The rooms of one namespace: every read asks the core (after an eviction, the stored
 * rooms are loaded first). Listen to its room events with `on`.
 */
export class RoomsAdapter extends TypedEmitter<Record<never, never>, AdapterReservedEvents> {
  readonly #nsp: Namespace<any, any, any, any>;

  /** @internal */
  constructor(nsp: Namespace<any, any, any, any>) {
    super();
    this.#nsp = nsp;
  }

  /** Every room with its member socket ids (each socket is in the room named by its id). */
  get rooms(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const nsp of this.#nsp._targets()) {
      for (const [room, ids] of nsp.server._core.roomsIn(nsp.name)) {
        const set = out.get(room);
        if (set) for (const id of ids) set.add(id);
        else out.set(room, new Set(ids));
      }
    }
    return out;
  }

  /** Every socket id with its rooms. */
  get sids(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [room, ids] of this.rooms) {
      for (const id of ids) {
        const set = out.get(id);
        if (set) set.add(room);
        else out.set(id, new Set([room]));
      }
    }
    return out;
  }

  /** The rooms of one socket. */
  socketRooms(id: string): Set<string> | undefined {
    const rooms = this.#nsp.server._core.roomsOf(id);
    return rooms.length > 0 ? new Set(rooms) : undefined;
  }

  // ---- driven by sockets and operators --------------------------------------------

  /** Whether the room events have listeners. */
  #watched(): boolean {
    return (
      this.listenerCount("join-room") > 0 ||
      this.listenerCount("create-room") > 0 ||
      this.listenerCount("leave-room") > 0 ||
      this.listenerCount("delete-room") > 0
    );
  }

  /**
   * Socket `id` (connected) joins `rooms`; `restored`: it is a recovered socket back in
   * its rooms, announced even where the core had it already. @internal
   */
  _addAll(id: string, rooms: string[], restored = false): void {
    const core = this.#nsp.server._core;
    if (!this.#watched()) {
      core.join(id, rooms);
      return;
    }
    // A recovered socket is back in its rooms already: each is announced all the same.
    const before = new Set(restored ? [] : core.roomsOf(id));
    core.join(id, rooms);
    for (const room of rooms) {
      if (before.has(room)) continue;
      before.add(room);
      this.#joined(room, id);
    }
  }

  /** Socket `id` (connected) leaves `room`. @internal */
  _del(id: string, room: string): void {
    const core = this.#nsp.server._core;
    if (!this.#watched()) {
      core.leave(id, room);
      return;
    }
    const was = core.roomsOf(id).includes(room);
    core.leave(id, room);
    if (was) this.#left(room, id);
  }

  /** Socket `id` was accepted, in its own room (which the core made). @internal */
  _connected(id: string): void {
    if (this.#watched()) this.#joined(id, id);
  }

  /** Socket `id` left the namespace, and so `rooms` (the core already forgot it). @internal */
  _delAll(id: string, rooms: Iterable<string>): void {
    if (!this.#watched()) return;
    for (const room of rooms) this.#left(room, id);
  }

  #joined(room: string, id: string): void {
    const nsp = this.#nsp;
    if (nsp.server._core.roomSize(nsp.name, room) === 1) this.emitReserved("create-room", room);
    this.emitReserved("join-room", room, id);
  }

  #left(room: string, id: string): void {
    const nsp = this.#nsp;
    this.emitReserved("leave-room", room, id);
    if (nsp.server._core.roomSize(nsp.name, room) === 0) this.emitReserved("delete-room", room);
  }
}
