/**
 * The durable copy of the Socket.IO layer's state, in the object's SQLite storage.
 *
 * The core says what changed (`store` actions: socket added/removed, ack ids reserved,
 * and room changes to collect, which are written once per turn); the app layer adds what
 * only JavaScript has (the handshake and `socket.data`, as JSON). Rows are written when
 * state changes, never per message, and read back lazily after the object was evicted:
 * one connection's sockets when it speaks, every socket only when a broadcast or a query
 * needs the whole index.
 */
import type { RoomChanges, StoredSocketRow } from "./wasm.js";

export type { StoredSocketRow };

/** A socket's full record, for reviving its JavaScript side. */
export interface SocketRecord {
  id: string;
  sid: string;
  nsp: string;
  handshake: string;
  data: string;
}

/** Storage counters, for tests and the benchmark. */
export interface StoreCounters {
  rowsRead: number;
  rowsWritten: number;
  queries: number;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sio_sockets (
     id TEXT PRIMARY KEY, sid TEXT NOT NULL, nsp TEXT NOT NULL,
     handshake TEXT NOT NULL, data TEXT NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS sio_sockets_sid ON sio_sockets (sid)",
  `CREATE TABLE IF NOT EXISTS sio_rooms (
     id TEXT NOT NULL, nsp TEXT NOT NULL, room TEXT NOT NULL, PRIMARY KEY (id, room))`,
  "CREATE TABLE IF NOT EXISTS sio_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
];

/** Runs one statement and adds what it cost to `counters`; returns its rows. */
export function countedQuery<T extends Record<string, SqlStorageValue>>(
  sql: SqlStorage,
  counters: StoreCounters,
  query: string,
  bindings: SqlStorageValue[],
): T[] {
  const cursor = sql.exec<T>(query, ...bindings);
  const rows = cursor.toArray();
  counters.queries++;
  counters.rowsRead += cursor.rowsRead;
  counters.rowsWritten += cursor.rowsWritten;
  return rows;
}

/** SQLite access for the Socket.IO layer. */
export class SocketStore {
  readonly counters: StoreCounters = { rowsRead: 0, rowsWritten: 0, queries: 0 };
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    for (const statement of SCHEMA) this.#exec(statement);
  }

  #exec<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: SqlStorageValue[]
  ): T[] {
    return countedQuery<T>(this.#sql, this.counters, query, bindings);
  }

  /** A socket joined a namespace. */
  addSocket(id: string, sid: string, nsp: string, handshake: string, data: string): void {
    this.#exec(
      "INSERT OR REPLACE INTO sio_sockets (id, sid, nsp, handshake, data) VALUES (?, ?, ?, ?, ?)",
      id,
      sid,
      nsp,
      handshake,
      data,
    );
  }

  /** A socket is gone, with its rooms. */
  removeSocket(id: string): void {
    this.#exec("DELETE FROM sio_rooms WHERE id = ?", id);
    this.#exec("DELETE FROM sio_sockets WHERE id = ?", id);
  }

  /** Every socket of a connection that is gone. */
  removeConnection(sid: string): void {
    this.#exec("DELETE FROM sio_rooms WHERE id IN (SELECT id FROM sio_sockets WHERE sid = ?)", sid);
    this.#exec("DELETE FROM sio_sockets WHERE sid = ?", sid);
  }

  /**
   * Applies the room changes of a turn: per socket, one statement for all the rooms it
   * joined and one for those it left (the room names travel as one JSON text each).
   */
  applyRoomChanges(changes: RoomChanges[]): void {
    for (const c of changes) {
      if (c.left.length > 0) {
        this.#exec(
          "DELETE FROM sio_rooms WHERE id = ? AND room IN (SELECT value FROM json_each(?))",
          c.id,
          JSON.stringify(c.left),
        );
      }
      if (c.joined.length > 0) {
        this.#exec(
          "INSERT OR IGNORE INTO sio_rooms (id, nsp, room) SELECT ?, ?, value FROM json_each(?)",
          c.id,
          c.nsp,
          JSON.stringify(c.joined),
        );
      }
    }
  }

  /** Saves a socket's `data` (JSON text). */
  setData(id: string, data: string): void {
    this.#exec("UPDATE sio_sockets SET data = ? WHERE id = ?", data, id);
  }

  /** The sockets of one connection, with their rooms. */
  socketsOf(sid: string): StoredSocketRow[] {
    return group(
      this.#exec<{ id: string; sid: string; nsp: string; room: string | null }>(
        `SELECT s.id AS id, s.sid AS sid, s.nsp AS nsp, r.room AS room
           FROM sio_sockets s LEFT JOIN sio_rooms r ON r.id = s.id WHERE s.sid = ?`,
        sid,
      ),
    );
  }

  /** Every stored socket, with its rooms. */
  allSockets(): StoredSocketRow[] {
    return group(
      this.#exec<{ id: string; sid: string; nsp: string; room: string | null }>(
        `SELECT s.id AS id, s.sid AS sid, s.nsp AS nsp, r.room AS room
           FROM sio_sockets s LEFT JOIN sio_rooms r ON r.id = s.id`,
      ),
    );
  }

  /** Names of the namespaces that have stored sockets. */
  namespaces(): string[] {
    return this.#exec<{ nsp: string }>("SELECT DISTINCT nsp FROM sio_sockets").map((r) => r.nsp);
  }

  /** One socket's record. */
  socket(id: string): SocketRecord | null {
    const rows = this.#exec<{
      id: string;
      sid: string;
      nsp: string;
      handshake: string;
      data: string;
    }>("SELECT id, sid, nsp, handshake, data FROM sio_sockets WHERE id = ?", id);
    return rows[0] ?? null;
  }

  /** Whether any socket is stored (reads one row at most). */
  hasSockets(): boolean {
    return this.#exec("SELECT 1 AS one FROM sio_sockets LIMIT 1").length > 0;
  }

  /** Number of stored sockets. */
  socketCount(): number {
    const rows = this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM sio_sockets");
    return Number(rows[0]?.n ?? 0);
  }

  /** Number of stored room memberships. */
  roomRowCount(): number {
    const rows = this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM sio_rooms");
    return Number(rows[0]?.n ?? 0);
  }

  getMeta(key: string): string | null {
    const rows = this.#exec<{ value: string }>("SELECT value FROM sio_meta WHERE key = ?", key);
    return rows[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.#exec("INSERT OR REPLACE INTO sio_meta (key, value) VALUES (?, ?)", key, value);
  }

  /** Ack id reservations per namespace. */
  ackFloors(): [string, number][] {
    return this.#exec<{ key: string; value: string }>(
      "SELECT key, value FROM sio_meta WHERE key LIKE 'ack:%'",
    ).map((r) => [r.key.slice(4), Number(r.value)]);
  }
}

function group(
  rows: { id: string; sid: string; nsp: string; room: string | null }[],
): StoredSocketRow[] {
  const byId = new Map<string, StoredSocketRow>();
  for (const r of rows) {
    let s = byId.get(r.id);
    if (!s) {
      s = { id: r.id, sid: r.sid, nsp: r.nsp, rooms: [] };
      byId.set(r.id, s);
    }
    if (r.room !== null) s.rooms.push(r.room);
  }
  return [...byId.values()];
}
