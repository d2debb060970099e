/**
 * The app's scheduler: tasks that run at a time, after a delay or repeatedly, each with
 * a name (its handler) and a JSON payload, stored in SQLite so that they survive the
 * object's eviction, and run on the object's one alarm beside the heartbeat (as an
 * {@link AlarmWork} of the driver). Handlers live in memory: `setup(io)` registers them
 * on every start.
 *
 * A task runs once per due time; it stays stored until its handler has finished (then a
 * one-off task is deleted and a repeating one moves to its next time), so a run cut off
 * by a crash of the object runs again. A handler that throws or rejects is logged and
 * not retried. Nothing here runs per message: storage is read when the alarm fires (and
 * only when a task may be due) and by the app's own calls.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: payloads are whatever the app stores

import type { AlarmWork } from "../shim/engine-driver.js";
import type { TaskRow, TaskStore } from "../shim/task-store.js";
import { reportError } from "./emitter.js";

/**
 * When a task runs: at a time (`at`), after a delay (`delay`), and/or repeatedly
 * (`every`, from the first run on; alone, the first run is one period from now). `id`
 * names the task: scheduling an id that exists replaces that task (its time, period and
 * payload); without it, every call adds a task with a new id.
 */
export type ScheduleOptions =
  | { at: Date | number; delay?: undefined; every?: number; id?: string }
  | { delay: number; at?: undefined; every?: number; id?: string }
  | { every: number; at?: undefined; delay?: undefined; id?: string };

/** A scheduled task, as `schedule`, `schedules` and handlers see it. */
export interface ScheduledTask<Payload = any> {
  /** Its id: the `id` it was scheduled with, or a generated one. */
  readonly id: string;
  /** Its name: the handler that runs it. */
  readonly name: string;
  /** When it is due (epoch ms); for a repeating task, its next run. */
  readonly at: number;
  /** Its period (ms) when it repeats. */
  readonly every?: number;
  /** The payload it was scheduled with (back from JSON), `undefined` for none. */
  readonly payload: Payload;
}

/** Runs a task of one name; may return a promise (the run ends when it settles). */
export type TaskHandler<Payload = any> = (
  payload: Payload,
  task: ScheduledTask<Payload>,
) => unknown;

/** What the scheduler needs from the object that runs it. */
export interface SchedulerOwner {
  /** Runs `fn` as (part of) a turn of the object. */
  turn<T>(fn: () => T): T;
  /** Makes sure the alarm fires at or before `at`. */
  requestAlarm(at: number): void;
}

/** Due tasks read and started per alarm; more make the alarm fire again at once. */
export const TASK_BATCH = 100;
/**
 * How long the alarm waits for the handlers it started. A handler still running then
 * goes on by itself (the alarm, and the heartbeat on it, is not held up); its task is
 * not started again while it runs.
 */
export const TASK_WAIT_MS = 5_000;
/**
 * While a handler runs past {@link TASK_WAIT_MS}, the alarm comes back this often, so
 * that its task runs again if the object lost the run (a crash or a restart).
 */
export const TASK_RECHECK_MS = 60_000;

/** The scheduler of one object (see the module comment). */
export class Scheduler implements AlarmWork {
  readonly name = "scheduled tasks";
  readonly #store: TaskStore;
  readonly #owner: SchedulerOwner;
  readonly #handlers = new Map<string, TaskHandler>();
  /** Rows (`seq`) whose handler is running. */
  readonly #running = new Set<number>();
  /**
   * No task is due before this (epoch ms); `undefined`: no task at all besides those
   * running; `null`: unknown (not read yet in this start).
   */
  #next: number | undefined | null = null;
  /** Whether the alarm is waiting for handlers (it asks for the next alarm itself). */
  #inAlarm = false;

  constructor(store: TaskStore, owner: SchedulerOwner) {
    this.#store = store;
    this.#owner = owner;
  }

  // ---- the app's calls ------------------------------------------------------------

  /** Registers the handler of the tasks named `name` (replacing an earlier one). */
  on(name: string, handler: TaskHandler): void {
    checkName(name, "name");
    if (typeof handler !== "function") throw new TypeError("the handler must be a function");
    this.#handlers.set(name, handler);
  }

  /** Schedules a task (one storage write); returns it. */
  schedule(name: string, when: ScheduleOptions, payload?: unknown): ScheduledTask {
    checkName(name, "name");
    if (when === null || typeof when !== "object") {
      throw new TypeError("schedule() needs { at }, { delay } or { every }");
    }
    const { at, delay, every, id } = when as {
      at?: unknown;
      delay?: unknown;
      every?: unknown;
      id?: unknown;
    };
    if (id !== undefined) checkName(id, "id");
    if (at !== undefined && delay !== undefined) {
      throw new TypeError("schedule() takes { at } or { delay }, not both");
    }
    let period: number | null = null;
    if (every !== undefined) {
      if (typeof every !== "number" || !Number.isFinite(every) || every <= 0) {
        throw new TypeError("every must be a number of milliseconds above 0");
      }
      period = Math.max(1, Math.round(every));
    }
    const now = Date.now();
    let time: number;
    if (at !== undefined) {
      const t = at instanceof Date ? at.getTime() : at;
      if (typeof t !== "number" || !Number.isFinite(t)) {
        throw new TypeError("at must be a Date or a time in milliseconds since the epoch");
      }
      time = Math.ceil(t);
    } else if (delay !== undefined) {
      if (typeof delay !== "number" || !Number.isFinite(delay) || delay < 0) {
        throw new TypeError("delay must be a number of milliseconds, 0 or more");
      }
      time = now + Math.ceil(delay);
    } else if (period !== null) {
      time = now + period;
    } else {
      throw new TypeError("schedule() needs { at }, { delay } or { every }");
    }
    let json: string | null = null;
    if (payload !== undefined) {
      const text = JSON.stringify(payload) as string | undefined;
      if (text === undefined) throw new TypeError("the payload cannot be stored as JSON");
      json = text;
    }
    const taskId = (id as string | undefined) ?? crypto.randomUUID();
    this.#store.put(taskId, name, time, period, json);
    this.#noteNext(time);
    this.#owner.requestAlarm(time);
    return taskOf({ seq: 0, id: taskId, name, at: time, every: period, payload: json });
  }

  /** Every stored task (or those named `name`), soonest first. */
  list(name?: string): ScheduledTask[] {
    if (name !== undefined) checkName(name, "name");
    return this.#store.list(name).map(taskOf);
  }

  /** Cancels the task `id`; whether there was one. */
  cancel(id: string): boolean {
    checkName(id, "id");
    // `#next` stays as it was: a bound that may now be early, which costs at most an
    // alarm that finds nothing (the alarm is never moved later anyway).
    return this.#store.cancel(id);
  }

  /** Cancels every task named `name`; how many there were. */
  cancelNamed(name: string): number {
    checkName(name, "name");
    return this.#store.cancelNamed(name);
  }

  // ---- the alarm ------------------------------------------------------------------

  /** The alarm fired: starts the due tasks (a batch), waits a while for them. */
  async due(now: number): Promise<number | undefined> {
    if (this.#next !== null && (this.#next === undefined || this.#next > now)) {
      return this.#nextTime();
    }
    // One read: the soonest rows, the due ones to run and, after them, the next time.
    const limit = TASK_BATCH + this.#running.size + 1;
    const rows = this.#store.soonest(limit);
    const due: TaskRow[] = [];
    let next: number | undefined | null = rows.length < limit ? undefined : null;
    for (const row of rows) {
      if (this.#running.has(row.seq)) continue;
      if (row.at > now || due.length === TASK_BATCH) {
        next = row.at;
        break;
      }
      due.push(row);
    }
    if (due.length > 0) {
      this.#inAlarm = true;
      try {
        const runs = this.#owner.turn(() => {
          const list: Promise<void>[] = [];
          for (const row of due) {
            const run = this.#start(row);
            if (run) list.push(run);
          }
          return list;
        });
        if (runs.length > 0) await settledWithin(runs, TASK_WAIT_MS);
      } finally {
        this.#inAlarm = false;
      }
      next = null;
    }
    // After runs the rows changed (deleted, moved, added by handlers): read the next time.
    this.#next = next === null ? this.#store.nextAt(this.#running) : next;
    return this.#nextTime();
  }

  /** The next time the alarm is needed: the next task, or a check of long runs. */
  #nextTime(): number | undefined {
    const next = this.#next ?? undefined;
    if (this.#running.size === 0) return next;
    const recheck = Date.now() + TASK_RECHECK_MS;
    return next === undefined ? recheck : Math.min(next, recheck);
  }

  /** Starts the run of a due task; a promise when its handler is still running. */
  #start(row: TaskRow): Promise<void> | undefined {
    this.#running.add(row.seq);
    const where = () =>
      `the handler of scheduled task "${row.name}" (id ${JSON.stringify(row.id)})`;
    let result: unknown;
    try {
      const handler = this.#handlers.get(row.name);
      if (!handler) throw new Error(`no handler for scheduled task "${row.name}" (io.onSchedule)`);
      const task = taskOf(row);
      result = handler(task.payload, task);
    } catch (e) {
      reportError(e, where);
      result = undefined;
    }
    if (
      result !== null &&
      typeof result === "object" &&
      typeof (result as Promise<unknown>).then === "function"
    ) {
      return Promise.resolve(result as Promise<unknown>).then(
        () => this.#finish(row),
        (e: unknown) => {
          reportError(e, where);
          this.#finish(row);
        },
      );
    }
    this.#finish(row);
    return undefined;
  }

  /** The run of a row ended: a one-off task goes, a repeating one is due again. */
  #finish(row: TaskRow): void {
    this.#running.delete(row.seq);
    try {
      if (row.every === null) {
        this.#store.remove(row.seq);
        return;
      }
      const now = Date.now();
      // The next time on the task's own grid that is still ahead: runs missed while the
      // object was busy or away are skipped, not caught up.
      const next = row.at + row.every * (Math.floor(Math.max(0, now - row.at) / row.every) + 1);
      if (!this.#store.advance(row.seq, next)) return;
      this.#noteNext(next);
      if (!this.#inAlarm) this.#owner.requestAlarm(next);
    } catch (e) {
      reportError(e, `finishing scheduled task "${row.name}" (id ${JSON.stringify(row.id)})`);
    }
  }

  /** A task is due at `at`: the bound of the next task comes down to it. */
  #noteNext(at: number): void {
    if (this.#next === null) return;
    this.#next = this.#next === undefined ? at : Math.min(this.#next, at);
  }
}

/** A row as the app sees it. */
function taskOf(row: TaskRow): ScheduledTask {
  let payload: unknown;
  if (row.payload !== null) payload = JSON.parse(row.payload);
  const task: { id: string; name: string; at: number; every?: number; payload: unknown } = {
    id: row.id,
    name: row.name,
    at: Number(row.at),
    payload,
  };
  if (row.every !== null) task.every = Number(row.every);
  return task;
}

function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`the task's ${what} must be a non-empty string`);
  }
}

/** Waits until every promise settled, or `ms` passed. */
async function settledWithin(runs: Promise<void>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([Promise.allSettled(runs), timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
