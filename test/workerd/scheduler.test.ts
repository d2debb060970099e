// The app's scheduler (`io.schedule`), inside workerd: tasks stored in SQLite, run by
// the object's one alarm beside the heartbeat, by new instances of the object built
// over the same storage (`Incarnation`, see wire.ts) and after the runtime's own
// eviction. Time is moved by making `Date.now()` return a later instant while an
// instance handles the alarm.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TASK_BATCH, TASK_RECHECK_MS } from "../../ts/api/scheduler.js";
import type { ScheduledTask, ScheduleOptions } from "../../ts/index.js";
import {
  alarmOf,
  atTime,
  attachmentOf,
  Incarnation,
  newObjectName,
  PING_SLACK,
  rows,
  stubOf,
  WireClient,
} from "./wire.js";
import type { HibServer, Notify } from "./worker.js";

const clients: WireClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  vi.restoreAllMocks();
});

/** A client of the object `object`, connected to `/` and in the room `r`. */
async function member(object: string): Promise<WireClient> {
  const client = await WireClient.open(object);
  clients.push(client);
  await client.connect("/");
  await client.call("/", "join", "r");
  return client;
}

/** Schedules a task through the `schedule` event of `client` (an event handler's call). */
async function scheduleFrom(
  client: WireClient,
  name: string,
  when: ScheduleOptions,
  payload?: unknown,
): Promise<ScheduledTask> {
  const answer = (await client.call("/", "schedule", name, when, payload ?? null)) as {
    task?: ScheduledTask;
    error?: string;
  };
  if (!answer.task) throw new Error(`schedule failed: ${answer.error}`);
  return answer.task;
}

/** Runs `fn` with the live instance of the object (its `io`). */
function withIo<R>(stub: DurableObjectStub<HibServer>, fn: (io: HibServer["io"]) => R): Promise<R> {
  return runInDurableObject(stub, (instance: HibServer) => fn(instance.io));
}

/** Statements run by the object between two readings of its counters. */
async function queriesOf(stub: DurableObjectStub<HibServer>): Promise<number> {
  const stats = await runInDurableObject(stub, (instance: HibServer) => instance.stats());
  return (stats.storage as { queries: number }).queries;
}

/** `stats()` runs three counting queries after it reads the counters. */
const STATS_QUERIES = 3;

const ring = (args: unknown[] = []): Notify => ({ room: "r", event: "ring", args });

describe("a scheduled task", () => {
  it("scheduled by an event handler is one stored row; a new instance runs it at its time, emitting to a room, and it is gone", async () => {
    const name = newObjectName("task");
    const stub = stubOf(name);
    const a = await member(name);
    const firstPing = (await attachmentOf(stub, a.sid))?.nextPingAt as number;

    const before = await queriesOf(stub);
    const task = await scheduleFrom(a, "notify", { delay: 10_000 }, ring([1, "two"]));
    expect((await queriesOf(stub)) - before - STATS_QUERIES, "one statement").toBe(1);
    expect(task).toEqual({
      id: expect.any(String),
      name: "notify",
      at: task.at,
      payload: ring([1, "two"]),
    });
    expect(await rows(stub, "SELECT id, name, at, every, payload FROM sio_tasks")).toEqual([
      {
        id: task.id,
        name: "notify",
        at: task.at,
        every: null,
        payload: JSON.stringify(ring([1, "two"])),
      },
    ]);
    // Earlier than the first ping: the alarm was moved to it.
    expect(task.at).toBeLessThan(firstPing);
    expect(await alarmOf(stub)).toBe(task.at);

    // A new instance (nothing in memory), woken by an alarm just before the task: nothing
    // runs, the alarm is set for the task again.
    const fresh = await Incarnation.start(stub);
    await fresh.alarm(task.at - 1);
    expect(await a.idle()).toEqual([]);
    expect(await alarmOf(stub)).toBe(task.at);

    // At its time it runs: the room gets the event, the row goes, the heartbeat's alarm
    // comes back.
    await fresh.alarm(task.at);
    expect((await a.event("/", "ring")).args).toEqual([1, "two", { id: task.id, at: task.at }]);
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([]);
    expect(await alarmOf(stub)).toBe(firstPing);
    expect((await fresh.runs()).tasks).toEqual([
      { id: task.id, name: "notify", at: task.at, payload: ring([1, "two"]) },
    ]);
    // The next alarm does not run it again.
    await fresh.alarm(firstPing);
    expect(await a.next()).toBe("2");
    expect((await fresh.runs()).tasks).toHaveLength(1);
  });

  it("survives the runtime's eviction: the runtime's new instance runs it on its alarm", async () => {
    const name = newObjectName("task-evict");
    const stub = stubOf(name);
    const a = await member(name);
    const task = await scheduleFrom(a, "notify", { delay: 5_000 }, ring(["after eviction"]));

    await evictDurableObject(stub);
    expect(await atTime(task.at, () => runDurableObjectAlarm(stub))).toBe(true);
    expect((await a.event("/", "ring")).args).toEqual([
      "after eviction",
      { id: task.id, at: task.at },
    ]);
    const stats = await runInDurableObject(stub, (instance: HibServer) => instance.stats());
    expect(stats).toMatchObject({ wakes: 2, scheduledTasks: 0 });
    expect(
      (await runInDurableObject(stub, (i: HibServer) => structuredClone(i.runs))).tasks,
    ).toEqual([{ id: task.id, name: "notify", at: task.at, payload: ring(["after eviction"]) }]);
  });

  it("is listed, replaced by its id, cancelled by id or by name; a cancelled task does not run", async () => {
    const name = newObjectName("task-list");
    const stub = stubOf(name);
    const a = await member(name);
    const one = await scheduleFrom(a, "notify", { delay: 30_000 }, ring(["one"]));
    const counted = await scheduleFrom(a, "count", { delay: 20_000 });
    const close = await scheduleFrom(
      a,
      "notify",
      { delay: 40_000, id: "close:r" },
      ring(["close"]),
    );
    // The same id again: the task is replaced (time and payload), not added.
    const moved = await scheduleFrom(
      a,
      "notify",
      { delay: 10_000, id: "close:r" },
      ring(["moved"]),
    );
    expect(moved.id).toBe("close:r");
    expect(moved.at).toBeLessThan(close.at);
    expect(counted).toEqual({ id: counted.id, name: "count", at: counted.at, payload: undefined });
    expect(one.id).not.toBe(counted.id);

    expect(await a.call("/", "schedules", null)).toEqual([moved, counted, one]);
    expect(await a.call("/", "schedules", "count")).toEqual([counted]);
    expect(await a.call("/", "cancel-schedule", one.id)).toBe(true);
    expect(await a.call("/", "cancel-schedule", one.id)).toBe(false);
    expect(await a.call("/", "cancel-schedules", "count")).toBe(1);
    expect(await a.call("/", "cancel-schedules", "count")).toBe(0);
    expect(await a.call("/", "schedules", null)).toEqual([moved]);

    // Every time passed: only the task left runs, with its new payload.
    const fresh = await Incarnation.start(stub);
    await fresh.alarm(one.at + 1);
    expect((await a.event("/", "ring")).args).toEqual(["moved", { id: "close:r", at: moved.at }]);
    expect((await fresh.runs()).tasks.map((t) => t.id)).toEqual(["close:r"]);
    // No other event (a ping may have left with the alarm).
    expect((await a.idle()).filter((f) => f.startsWith("42"))).toEqual([]);
    expect(await a.call("/", "schedules", null)).toEqual([]);
  });

  it("refuses what it cannot schedule, storing nothing", async () => {
    const name = newObjectName("task-bad");
    const stub = stubOf(name);
    const a = await member(name);
    const refused: [string, unknown, string][] = [
      ["notify", {}, "needs { at }, { delay } or { every }"],
      ["notify", null, "needs { at }, { delay } or { every }"],
      ["notify", { at: 1, delay: 1 }, "not both"],
      ["notify", { every: 0 }, "every must be"],
      ["notify", { delay: -1 }, "delay must be"],
      ["notify", { at: "soon" }, "at must be"],
      ["notify", { delay: 1, id: "" }, "id must be"],
      ["", { delay: 1 }, "name must be"],
    ];
    for (const [task, when, message] of refused) {
      expect(await a.call("/", "schedule", task, when, null)).toEqual({
        error: expect.stringContaining(message),
      });
    }
    const unstorable = await withIo(stub, (io) => {
      try {
        io.schedule("count", { delay: 1 }, { n: 1n });
        return "stored";
      } catch (e) {
        return String(e);
      }
    });
    expect(unstorable).toContain("BigInt");
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([]);
  });

  it("repeats every period from its first time, skipping the runs it missed, until cancelled", async () => {
    const name = newObjectName("task-every");
    const stub = stubOf(name);
    const first = Date.now() + 1_000;
    const task = await withIo(stub, (io) =>
      io.schedule("count", { at: first, every: 1_000, id: "tick" }, { n: 1 }),
    );
    expect(task).toEqual({ id: "tick", name: "count", at: first, every: 1_000, payload: { n: 1 } });

    const fresh = await Incarnation.start(stub);
    await fresh.alarm(first);
    expect(await rows(stub, "SELECT at, every FROM sio_tasks")).toEqual([
      { at: first + 1_000, every: 1_000 },
    ]);
    expect(await alarmOf(stub)).toBe(first + 1_000);
    // Woken late: one run, and the next time is the next on the task's grid.
    await fresh.alarm(first + 3_500);
    expect(await rows(stub, "SELECT at FROM sio_tasks")).toEqual([{ at: first + 4_000 }]);
    expect((await fresh.runs()).tasks).toEqual([
      { id: "tick", name: "count", at: first, payload: { n: 1 } },
      { id: "tick", name: "count", at: first + 1_000, payload: { n: 1 } },
    ]);
    expect(await fresh.run((instance) => instance.io.schedules())).toEqual([
      { id: "tick", name: "count", at: first + 4_000, every: 1_000, payload: { n: 1 } },
    ]);

    expect(await fresh.run((instance) => instance.io.cancelSchedule("tick"))).toBe(true);
    await fresh.alarm(first + 4_000);
    expect((await fresh.runs()).tasks).toHaveLength(2);
    // No task and no session: no alarm at all.
    expect(await alarmOf(stub)).toBeNull();
  });

  it("a handler that throws, rejects or is missing is logged with the task; the others run; none is retried", async () => {
    const name = newObjectName("task-errors");
    const stub = stubOf(name);
    const a = await member(name);
    const at = Date.now() + 1_000;
    const ids = await withIo(stub, (io) => ({
      fail: io.schedule("fail", { at }).id,
      later: io.schedule("fail-later", { at }).id,
      nobody: io.schedule("nobody", { at }).id,
      notify: io.schedule("notify", { at }, ring(["still runs"])).id,
    }));
    const errors = vi.spyOn(console, "error");

    const fresh = await Incarnation.start(stub);
    await fresh.alarm(at);
    expect((await a.event("/", "ring")).args).toEqual(["still runs", { id: ids.notify, at }]);
    const lines = errors.mock.calls.map((args) => [String(args[0]), String(args[1])]);
    const where = (task: string, id: string) =>
      `socket.io-durable: uncaught error in the handler of scheduled task "${task}" (id "${id}"):`;
    expect(lines).toContainEqual([where("fail", ids.fail), "Error: task broke"]);
    expect(lines).toContainEqual([where("fail-later", ids.later), "Error: task broke later"]);
    expect(lines).toContainEqual([
      where("nobody", ids.nobody),
      'Error: no handler for scheduled task "nobody" (io.onSchedule)',
    ]);
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([]);
    await fresh.alarm(at + 1_000);
    expect((await fresh.runs()).tasks.map((t) => t.name).sort()).toEqual([
      "fail",
      "fail-later",
      "notify",
    ]);
  });

  it("a backlog runs in batches, the alarm firing again at once between them", async () => {
    const name = newObjectName("task-batch");
    const stub = stubOf(name);
    const at = Date.now() + 1_000;
    const total = TASK_BATCH * 2 + 50;
    await withIo(stub, (io) => {
      for (let i = 0; i < total; i++) io.schedule("count", { at: at + (i % 7) }, i);
    });

    const fresh = await Incarnation.start(stub);
    const now = at + 10;
    const ran: number[] = [];
    for (let i = 0; i < 3; i++) {
      await fresh.alarm(now);
      ran.push((await fresh.runs()).tasks.length);
      const left = total - (ran[i] ?? 0);
      expect(await rows(stub, "SELECT COUNT(*) AS n FROM sio_tasks")).toEqual([{ n: left }]);
      if (left > 0) expect(await alarmOf(stub)).toBeLessThanOrEqual(now);
    }
    expect(ran).toEqual([TASK_BATCH, TASK_BATCH * 2, total]);
    expect(await alarmOf(stub)).toBeNull();
    // Soonest first, each once.
    const payloads = (await fresh.runs()).tasks.map((t) => t.payload as number);
    expect([...payloads].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i));
    const times = (await fresh.runs()).tasks.map((t) => t.at);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it("a handler still running after the alarm's wait goes on by itself, is not started again, and its row goes when it ends", async () => {
    const name = newObjectName("task-hold");
    const stub = stubOf(name);
    const at = Date.now() + 1_000;
    const held = await withIo(stub, (io) => io.schedule("hold", { at }));
    const counted = await withIo(stub, (io) => io.schedule("count", { at: at + 1 }));

    const fresh = await Incarnation.start(stub);
    // The alarm returns while `hold` still waits (after the scheduler's bounded wait).
    await fresh.alarm(at + 1);
    expect((await fresh.runs()).tasks.map((t) => t.id)).toEqual([held.id, counted.id]);
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([{ id: held.id }]);
    // It comes back later, in case the run was lost.
    expect(await alarmOf(stub)).toBe(at + 1 + TASK_RECHECK_MS);
    // An alarm that reads the due tasks again (another one is due) leaves it alone.
    const other = await fresh.run((instance) => instance.io.schedule("count", { at: at + 2 }));
    await fresh.alarm(at + 2);
    expect((await fresh.runs()).tasks.map((t) => t.id)).toEqual([held.id, counted.id, other.id]);

    expect(await fresh.run((instance) => instance.release())).toBe(1);
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([]);
    // A run lost with the instance (a restart) runs again in the next one.
    const again = await withIo(stub, (io) => io.schedule("hold", { at: at + 5 }));
    const lost = await Incarnation.start(stub);
    await lost.alarm(at + 5);
    const next = await Incarnation.start(stub);
    await next.alarm(at + 5 + TASK_RECHECK_MS);
    expect((await next.runs()).tasks.map((t) => t.id)).toEqual([again.id]);
    expect(await next.run((instance) => instance.release())).toBe(1);
    expect(await rows(stub, "SELECT id FROM sio_tasks")).toEqual([]);
    expect(await lost.run((instance) => instance.release())).toBe(1);
  }, 40_000);
});

describe("the scheduler and the heartbeat on one alarm", () => {
  it("pings go out on time while a repeating task keeps the alarm busy", async () => {
    const name = newObjectName("task-heartbeat");
    const stub = stubOf(name);
    const a = await member(name);
    const firstPing = (await attachmentOf(stub, a.sid))?.nextPingAt as number;
    const start = Date.now();
    await withIo(stub, (io) => io.schedule("count", { at: start + 4_000, every: 4_000 }));

    const fresh = await Incarnation.start(stub);
    const seen: { at: number; pinged: boolean; ticks: number }[] = [];
    for (let i = 0; i < 7; i++) {
      const at = (await alarmOf(stub)) as number;
      await fresh.alarm(at);
      const pinged = (await a.idle(100)).includes("2");
      if (pinged) await a.next((f) => f === "2");
      seen.push({ at, pinged, ticks: (await fresh.runs()).tasks.length });
    }
    // Every alarm came at a tick of the task, and ran it.
    expect(seen.map((s) => s.at)).toEqual(seen.map((_, i) => start + 4_000 * (i + 1)));
    expect(seen.map((s) => s.ticks)).toEqual(seen.map((_, i) => i + 1));
    // The ping left with the first alarm within the ping slack of its time, and only then.
    const pingAlarm = seen.findIndex((s) => s.at >= firstPing - PING_SLACK);
    expect(seen.map((s) => s.pinged)).toEqual(seen.map((_, i) => i === pingAlarm));
    expect(a.closeEvent).toBeNull();
  });

  it("the heartbeat's alarms read the tasks once per start, then not at all while none is due", async () => {
    const name = newObjectName("task-quiet");
    const stub = stubOf(name);
    const a = await member(name);
    const firstPing = (await attachmentOf(stub, a.sid))?.nextPingAt as number;
    const queries = async (incarnation: Incarnation) =>
      ((await incarnation.stats()).storage as { queries: number }).queries;

    const fresh = await Incarnation.start(stub);
    // (The first stats() of a start reads the shard counts after the counters.)
    await queries(fresh);
    const q0 = await queries(fresh);
    await fresh.alarm(firstPing);
    expect(await a.next()).toBe("2");
    const q1 = await queries(fresh);
    expect(q1 - q0 - STATS_QUERIES, "one read of the soonest task").toBe(1);
    await fresh.alarm(firstPing + 1_000);
    const q2 = await queries(fresh);
    expect(q2 - q1 - STATS_QUERIES, "nothing read").toBe(0);
    // A task scheduled since is known: its alarm reads it (the soonest rows), runs it, and
    // reads the next time.
    const task = await fresh.run((instance) =>
      instance.io.schedule("count", { at: firstPing + 2_000 }),
    );
    const q3 = await queries(fresh);
    await fresh.alarm(task.at);
    expect((await fresh.runs()).tasks.map((t) => t.id)).toEqual([task.id]);
    expect((await queries(fresh)) - q3 - STATS_QUERIES).toBe(3);
    expect(
      await rows(
        stub,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sio_tasks'",
      ),
    ).toContainEqual({ name: "sio_tasks_at" });
  });

  it("a task scheduled by setup(), before the object has read its alarm, never moves the heartbeat's alarm later", async () => {
    const name = newObjectName("task-setup");
    const stub = stubOf(name);
    const a = await member(name);
    const firstPing = (await attachmentOf(stub, a.sid))?.nextPingAt as number;
    expect(await alarmOf(stub)).toBe(firstPing);

    /** Builds a new instance and schedules in its constructor's window, as setup() would. */
    const startScheduling = (delays: number[]) =>
      runInDurableObject(stub, async (live: HibServer, state) => {
        const Class = live.constructor as new (ctx: DurableObjectState, e: typeof env) => HibServer;
        const fresh = new Class(state, env);
        const tasks = delays.map((delay) => fresh.io.schedule("count", { delay }));
        await state.storage.getAlarm();
        return tasks;
      });
    await startScheduling([60_000, 50_000]);
    expect(await alarmOf(stub)).toBe(firstPing);
    const [, early] = await startScheduling([90_000, 5_000]);
    expect(await alarmOf(stub)).toBe(early?.at);
  });
});
