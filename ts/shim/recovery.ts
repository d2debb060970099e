/**
 * The storage of connection state recovery (`connectionStateRecovery`), in the object's
 * SQLite storage, so that it outlives an eviction and a deploy.
 *
 * The core decides (which events are stored, with which offset and targets; which
 * disconnects keep a session; whether a session may come back; which stored events a
 * recovered socket missed); this file keeps what it says:
 *
 * - `sio_packets`: one row per stored event (not per recipient), keyed by its offset,
 *   which grows with time, so that the events a client missed are a range of the key
 *   and the expired ones another;
 * - `sio_sessions`: one row per socket that lost its connection, by private session id
 *   (`pid`), until its window passes;
 * - `sio_pids`: the pid of each stored (WebSocket) socket, so that a socket that was
 *   never seen to disconnect (the object restarted under it, as a deploy does) can still
 *   be recovered from its stored row.
 *
 * Nothing is read per message; writing an event costs one row. Expired rows go on the
 * object's alarm, in batches. The schema's version is stored (`recovery-schema`), so
 * that a later version can read or migrate what an earlier deploy stored.
 */
import type { AlarmWork } from "./engine-driver.js";
import { countedQuery, type StoreCounters } from "./store.js";
import { type KeptSessionRow, offsetFloor, type StoredPacketRow } from "./wasm.js";

/** Version of the tables below. */
const SCHEMA_VERSION = "1";

/** The tables, their indexes and the schema's version, in one statement (run on every start). */
const SCHEMA = `CREATE TABLE IF NOT EXISTS sio_packets (
     offset INTEGER PRIMARY KEY, nsp TEXT NOT NULL, rooms TEXT NOT NULL,
     except_rooms TEXT NOT NULL, data TEXT NOT NULL, binaries BLOB);
   CREATE TABLE IF NOT EXISTS sio_sessions (
     pid TEXT PRIMARY KEY, id TEXT NOT NULL, nsp TEXT NOT NULL, rooms TEXT NOT NULL,
     data TEXT NOT NULL, at INTEGER NOT NULL, since INTEGER);
   CREATE INDEX IF NOT EXISTS sio_sessions_at ON sio_sessions (at);
   CREATE TABLE IF NOT EXISTS sio_pids (id TEXT PRIMARY KEY, pid TEXT NOT NULL, since INTEGER);
   CREATE INDEX IF NOT EXISTS sio_pids_pid ON sio_pids (pid);
   INSERT OR IGNORE INTO sio_meta (key, value) VALUES ('recovery-schema', '${SCHEMA_VERSION}')`;

/** Rows removed per statement when expiring. */
const BATCH = 500;

/** The least time between two expiry passes (ms). */
const MIN_PASS_GAP = 1000;

/** A kept session with what only JavaScript had of it. */
export interface KeptSession extends KeptSessionRow {
  /** Its namespace. */
  nsp: string;
  /** `socket.data`, as JSON text. */
  data: string;
  /**
   * When the socket moved to this shard from another (recovered there): the offset
   * from which this shard's events are the ones its client may not have had. Its
   * client's offset may be one of the other shard's, unknown here.
   */
  since?: number;
}

/** What this shard knows of a socket for recovery: its pid, and where it arrived. */
export interface SocketPid {
  pid: string;
  since?: number;
}

/** What a reconnecting client may get back: its session and the events after its offset. */
export interface FoundSession {
  session: KeptSession;
  /** Whether the client's offset is still stored. */
  offsetFound: boolean;
  /** The events of its namespace stored after its offset, in order. */
  after: StoredPacketRow[];
  /**
   * When the session came from another shard: this shard's offset at the moment it was
   * asked for (its own events from there on are in `after` too), which the socket keeps
   * as its `since`.
   */
  since?: number;
}

/** The recovery tables of one object. */
export class RecoveryStore implements AlarmWork {
  readonly name = "connection state recovery expiry";
  readonly #sql: SqlStorage;
  readonly #window: number;
  readonly #counters: StoreCounters;
  readonly #requestAlarm: (at: number) => void;
  /**
   * The earliest time an expiry pass has work (ms), as far as this start knows: until
   * then the alarms of the heartbeat pass it by. Unknown after a start: the first alarm
   * makes a pass.
   */
  #next: number | undefined;

  constructor(
    sql: SqlStorage,
    window: number,
    counters: StoreCounters,
    requestAlarm: (at: number) => void,
  ) {
    this.#sql = sql;
    this.#window = window;
    this.#counters = counters;
    this.#requestAlarm = requestAlarm;
    this.#exec(SCHEMA);
  }

  #exec<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: SqlStorageValue[]
  ): T[] {
    return countedQuery<T>(this.#sql, this.#counters, query, bindings);
  }

  /** Something stored at `at` expires after the window: makes sure the alarm comes. */
  #expires(at: number): void {
    const due = at + this.#window;
    if (this.#next !== undefined && this.#next <= due) return;
    this.#next = due;
    this.#requestAlarm(due);
  }

  // ---- writing ----------------------------------------------------------------------

  /** Keeps an event (`packetStored`). */
  storePacket(
    offset: number,
    nsp: string,
    rooms: string[],
    except: string[],
    data: string,
    binaries: Uint8Array[] | undefined,
  ): void {
    this.#exec(
      `INSERT INTO sio_packets (offset, nsp, rooms, except_rooms, data, binaries)
       VALUES (?, ?, ?, ?, ?, ?)`,
      offset,
      nsp,
      JSON.stringify(rooms),
      JSON.stringify(except),
      data,
      binaries && binaries.length > 0 ? packBinaries(binaries).buffer : null,
    );
    this.#expires(Math.floor(offset / 1000));
  }

  /** Keeps the session of a socket that lost its connection (`sessionKept`). */
  keepSession(s: KeptSession): void {
    this.#exec(
      `INSERT OR REPLACE INTO sio_sessions (pid, id, nsp, rooms, data, at, since)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      s.pid,
      s.id,
      s.nsp,
      JSON.stringify(s.rooms),
      s.data,
      s.at,
      s.since ?? null,
    );
    this.#expires(s.at);
  }

  /** Remembers the pid of a stored socket. */
  setPid(id: string, p: SocketPid): void {
    this.#exec(
      "INSERT OR REPLACE INTO sio_pids (id, pid, since) VALUES (?, ?, ?)",
      id,
      p.pid,
      p.since ?? null,
    );
  }

  /** The pid of a stored socket. */
  pidOf(id: string): SocketPid | undefined {
    const row = this.#exec<{ pid: string; since: number | null }>(
      "SELECT pid, since FROM sio_pids WHERE id = ?",
      id,
    )[0];
    if (!row) return undefined;
    return row.since === null ? { pid: row.pid } : { pid: row.pid, since: Number(row.since) };
  }

  /** A stored socket is gone. */
  removePid(id: string): void {
    this.#exec("DELETE FROM sio_pids WHERE id = ?", id);
  }

  /** The stored socket with this pid (and where it arrived), if one is stored. */
  socketOfPid(pid: string): ({ id: string } & SocketPid) | undefined {
    const row = this.#exec<{ id: string; since: number | null }>(
      "SELECT id, since FROM sio_pids WHERE pid = ?",
      pid,
    )[0];
    if (!row) return undefined;
    return row.since === null ? { id: row.id, pid } : { id: row.id, pid, since: Number(row.since) };
  }

  // ---- reading back -------------------------------------------------------------------

  /**
   * The kept session `pid`, with the events of its namespace after its client's
   * `offset`. A socket that moved here from another shard may come back with an offset
   * of that shard: then the events from its arrival on (`since`) are the ones it may
   * not have had, as long as none of them can have expired yet.
   */
  find(pid: string, offset: number, now: number): FoundSession | null {
    const rows = this.#exec<{
      id: string;
      nsp: string;
      rooms: string;
      data: string;
      at: number;
      since: number | null;
    }>("SELECT id, nsp, rooms, data, at, since FROM sio_sessions WHERE pid = ?", pid);
    const row = rows[0];
    if (!row) return null;
    const session: KeptSession = {
      id: row.id,
      pid,
      nsp: row.nsp,
      rooms: parseStrings(row.rooms),
      data: row.data,
      at: Number(row.at),
    };
    if (row.since !== null) session.since = Number(row.since);
    const found = this.after(session.nsp, offset);
    if (
      !found.offsetFound &&
      session.since !== undefined &&
      session.since >= offsetFloor(now - this.#window)
    ) {
      return { session, offsetFound: true, after: this.from(session.nsp, session.since) };
    }
    return { session, ...found };
  }

  /** The events of `nsp` from `offset` on (itself included). */
  from(nsp: string, offset: number): StoredPacketRow[] {
    return this.#rows(nsp, offset).map(packetOf);
  }

  #rows(nsp: string, offset: number): PacketRow[] {
    return this.#exec<PacketRow>(
      `SELECT offset, rooms, except_rooms, data, binaries FROM sio_packets
        WHERE offset >= ? AND nsp = ? ORDER BY offset`,
      offset,
      nsp,
    );
  }

  /** The events of `nsp` from `offset` on: whether `offset` itself is there, and the rest. */
  after(nsp: string, offset: number): { offsetFound: boolean; after: StoredPacketRow[] } {
    const rows = this.#rows(nsp, offset);
    const offsetFound = rows.length > 0 && Number(rows[0]?.offset) === offset;
    return { offsetFound, after: (offsetFound ? rows.slice(1) : rows).map(packetOf) };
  }

  /** A session came back or may not: its row goes. */
  forget(pid: string): void {
    this.#exec("DELETE FROM sio_sessions WHERE pid = ?", pid);
  }

  // ---- expiry -------------------------------------------------------------------------

  /** The alarm: removes what the window left behind; when it is next needed. */
  due(now: number): number | undefined {
    if (this.#next !== undefined && now < this.#next) return this.#next;
    this.#next = undefined;
    const threshold = now - this.#window;
    const floor = offsetFloor(threshold);
    this.#exec(
      `DELETE FROM sio_sessions WHERE pid IN
         (SELECT pid FROM sio_sessions WHERE at < ? ORDER BY at LIMIT ${BATCH})`,
      threshold,
    );
    this.#exec(
      `DELETE FROM sio_packets WHERE offset IN
         (SELECT offset FROM sio_packets WHERE offset < ? ORDER BY offset LIMIT ${BATCH})`,
      floor,
    );
    const session = this.#exec<{ at: number | null }>("SELECT MIN(at) AS at FROM sio_sessions")[0]
      ?.at;
    const packet = this.#exec<{ offset: number | null }>(
      "SELECT MIN(offset) AS offset FROM sio_packets",
    )[0]?.offset;
    const oldest: number[] = [];
    if (typeof session === "number") oldest.push(session);
    if (typeof packet === "number") oldest.push(Math.floor(packet / 1000));
    if (oldest.length === 0) {
      // Nothing left: no pass until something is stored.
      this.#next = Number.POSITIVE_INFINITY;
      return undefined;
    }
    const more =
      (typeof session === "number" && session < threshold) ||
      (typeof packet === "number" && packet < floor);
    // A batch left more behind: again soon. Otherwise when the oldest row expires,
    // passes at least MIN_PASS_GAP apart.
    const at = more ? now + 1000 : Math.max(Math.min(...oldest) + this.#window, now + MIN_PASS_GAP);
    this.#next = at;
    return at;
  }

  /** Rows of each table, for tests. */
  counts(): { packets: number; sessions: number; pids: number } {
    const n = (table: string): number =>
      Number(this.#exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)[0]?.n ?? 0);
    return { packets: n("sio_packets"), sessions: n("sio_sessions"), pids: n("sio_pids") };
  }
}

/** A row of `sio_packets`. */
type PacketRow = {
  offset: number;
  rooms: string;
  except_rooms: string;
  data: string;
  binaries: ArrayBuffer | null;
};

function packetOf(r: PacketRow): StoredPacketRow {
  const p: StoredPacketRow = {
    data: r.data,
    rooms: parseStrings(r.rooms),
    except: parseStrings(r.except_rooms),
  };
  if (r.binaries) p.binaries = unpackBinaries(new Uint8Array(r.binaries));
  return p;
}

function parseStrings(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Attachments as one blob: each a 4-byte big-endian length, then its bytes. */
function packBinaries(binaries: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const b of binaries) size += 4 + b.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of binaries) {
    view.setUint32(at, b.byteLength);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  return out;
}

function unpackBinaries(blob: Uint8Array): Uint8Array[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= blob.byteLength) {
    const n = view.getUint32(at);
    out.push(blob.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
