/**
 * How one logical server is laid out on Durable Objects: the names of its shards, the
 * shard a session id belongs to, the header by which the router tells an object how
 * many shards there are, and the jurisdiction its objects are made in. The router, the
 * objects and the emitter all read it from here.
 */

/**
 * Header the router sets on every request it forwards: the number of shards of the
 * server. It overwrites what a client may have sent.
 */
export const SHARDS_HEADER = "x-socket-io-durable-shards";

/** Separates a server's name from a shard's number in the shard's object name. */
const SHARD_MARK = "\u0000";

/** The most shards one server may have. */
export const MAX_SHARDS = 1024;

/**
 * The object name of shard `index` of the server named `name`. Shard 0 is the server's
 * own name, so an unsharded server is shard 0 of one and keeps its object when it grows.
 */
export function shardName(name: string, index: number): string {
  return index === 0 ? name : `${name}${SHARD_MARK}${index}`;
}

/** Whether `name` can name a server: shard names are kept apart from every other name. */
export function isServerName(name: string): boolean {
  return !name.includes(SHARD_MARK);
}

/** The server name and shard number of an object name (see {@link shardName}). */
export function parseShardName(name: string): { name: string; index: number } {
  const at = name.lastIndexOf(SHARD_MARK);
  if (at < 0) return { name, index: 0 };
  const index = Number(name.slice(at + 1));
  if (!Number.isInteger(index) || index < 1) return { name, index: 0 };
  return { name: name.slice(0, at), index };
}

/**
 * What the session ids of shard `index` start with. Shard 0 (and an unsharded server)
 * makes plain ids; shard 3 makes `3.` followed by the id. `.` is outside the id's
 * alphabet, so the prefix cannot be mistaken for part of an id.
 */
export function sidPrefix(index: number): string {
  return index === 0 ? "" : `${index}.`;
}

/**
 * The shard that owns session id `sid` on a server of `shards` shards. An id that
 * names no shard below `shards` goes to shard 0, where it is an unknown id like any
 * other made-up one.
 */
export function shardOfSid(sid: string, shards: number): number {
  const dot = sid.indexOf(".");
  if (dot < 1 || dot > 4) return 0;
  const text = sid.slice(0, dot);
  if (!/^[1-9][0-9]*$/.test(text)) return 0;
  const index = Number(text);
  return index < shards ? index : 0;
}

/** A shard count as given: a whole number from 1 to {@link MAX_SHARDS}, else 1. */
export function shardCount(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_SHARDS ? n : 1;
}

/** A Durable Object namespace that may be narrowed to a jurisdiction. */
export interface JurisdictionalNamespace<N> {
  /** The subnamespace whose objects run and store their data in `jurisdiction` only. */
  jurisdiction?(jurisdiction: DurableObjectJurisdiction): N;
}

/**
 * The namespace in which the objects of a server are made: `namespace` itself, or its
 * subnamespace of `jurisdiction`. The same name makes a different object in each
 * jurisdiction, so every stub of one server must come from the same one. Throws when a
 * jurisdiction is asked of a namespace that cannot be narrowed (and the runtime throws
 * for a jurisdiction it does not know, or, under `wrangler dev`, for any).
 */
export function inJurisdiction<N extends JurisdictionalNamespace<N>>(
  namespace: N,
  jurisdiction: DurableObjectJurisdiction | undefined,
  caller: string,
): N {
  if (jurisdiction === undefined) return namespace;
  if (typeof namespace.jurisdiction !== "function") {
    throw new TypeError(`${caller}: the namespace has no jurisdiction() to place objects with`);
  }
  return namespace.jurisdiction(jurisdiction);
}
