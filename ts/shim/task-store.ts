/**
 * The app's scheduled tasks in the object's SQLite storage (table `sio_tasks`), one row
 * per task. `seq` identifies one version of a task: scheduling an id again replaces its
 * row with a new `seq`, so that finishing a run that started before touches only the
 * row that run was for. Due tasks are read by time through the index on `at`.
 */
import { countedQuery, type StoreCounters } from "./store.js";

/** A stored task. */
export interface TaskRow {
  /** The version of the row (never reused). */
  seq: number;
  /** The task's id (the app's, or a generated one). */
  id: string;
  /** The name of its handler. */
  name: string;
  /** When it is due (epoch ms). */
  at: number;
  /** Its period (ms) when it repeats, else `null`. */
  every: number | null;
  /** Its payload as JSON text, `null` for none. */
  payload: string | null;
}

/** The table and its index, in one statement (run on every start). */
const SCHEMA = `CREATE TABLE IF NOT EXISTS sio_tasks (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
     at INTEGER NOT NULL, every INTEGER, payload TEXT);
   CREATE INDEX IF NOT EXISTS sio_tasks_at ON sio_tasks (at)`;

const COLUMNS = "seq, id, name, at, every, payload";

/** SQLite access for the scheduler. */
export class TaskStore {
  readonly #sql: SqlStorage;
  readonly #counters: StoreCounters;

  /** `counters`: where the cost of each statement is added (the object's storage counters). */
  constructor(sql: SqlStorage, counters: StoreCounters) {
    this.#sql = sql;
    this.#counters = counters;
    this.#exec(SCHEMA);
  }

  #exec<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: SqlStorageValue[]
  ): T[] {
    return countedQuery<T>(this.#sql, this.#counters, query, bindings);
  }

  /** Stores a task, replacing the task of the same id (one statement). */
  put(id: string, name: string, at: number, every: number | null, payload: string | null): void {
    this.#exec(
      "INSERT OR REPLACE INTO sio_tasks (id, name, at, every, payload) VALUES (?, ?, ?, ?, ?)",
      id,
      name,
      at,
      every,
      payload,
    );
  }

  /** Deletes the task `id`; whether there was one. */
  cancel(id: string): boolean {
    return this.#exec("DELETE FROM sio_tasks WHERE id = ? RETURNING seq", id).length > 0;
  }

  /** Deletes every task named `name`; how many there were. */
  cancelNamed(name: string): number {
    return this.#exec("DELETE FROM sio_tasks WHERE name = ? RETURNING seq", name).length;
  }

  /** Every task (or those named `name`), soonest first. */
  list(name?: string): TaskRow[] {
    return name === undefined
      ? this.#exec<TaskRow & Record<string, SqlStorageValue>>(
          `SELECT ${COLUMNS} FROM sio_tasks ORDER BY at, seq`,
        )
      : this.#exec<TaskRow & Record<string, SqlStorageValue>>(
          `SELECT ${COLUMNS} FROM sio_tasks WHERE name = ? ORDER BY at, seq`,
          name,
        );
  }

  /** The `limit` soonest tasks, due or not. */
  soonest(limit: number): TaskRow[] {
    return this.#exec<TaskRow & Record<string, SqlStorageValue>>(
      `SELECT ${COLUMNS} FROM sio_tasks ORDER BY at, seq LIMIT ?`,
      limit,
    );
  }

  /** When the soonest task is due, leaving out the rows `skip` (their `seq`); none: undefined. */
  nextAt(skip: Iterable<number>): number | undefined {
    const list = [...skip];
    const rows =
      list.length === 0
        ? this.#exec<{ at: number | null }>("SELECT MIN(at) AS at FROM sio_tasks")
        : this.#exec<{ at: number | null }>(
            "SELECT MIN(at) AS at FROM sio_tasks WHERE seq NOT IN (SELECT value FROM json_each(?))",
            JSON.stringify(list),
          );
    const at = rows[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  /** A run of the row `seq` ended and the task does not repeat: the row goes. */
  remove(seq: number): void {
    this.#exec("DELETE FROM sio_tasks WHERE seq = ?", seq);
  }

  /** A run of the row `seq` ended and the task repeats: due again at `at`; whether it is still there. */
  advance(seq: number, at: number): boolean {
    return (
      this.#exec("UPDATE sio_tasks SET at = ? WHERE seq = ? RETURNING seq", at, seq).length > 0
    );
  }

  /** Number of stored tasks. */
  count(): number {
    const rows = this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM sio_tasks");
    return Number(rows[0]?.n ?? 0);
  }
}
