// The app's scheduler (`io.schedule`) under `wrangler dev`, with the real
// socket.io-client: `/sched/` (the feature server's 1 s heartbeat) and `/sched-hib/`
// (Socket.IO's default heartbeat, so that the object is evicted while a task waits);
// see test/e2e/README.md. Tasks named `notify` emit their event to their room when they
// run, with the start number of the object that ran them.
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, request } from "../helpers/eio.js";
import { type Client, Clients, MODES, settled, uid } from "../helpers/sio.js";
import { waitUntil } from "../helpers/util.js";

const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
});

interface Task {
  id: string;
  name: string;
  at: number;
  every?: number;
  payload?: unknown;
}

/** What a `notify` task emits: its payload's args, the task, the object's start. */
interface Rung {
  args: unknown[];
  id: string;
  at: number;
  start: number;
}

type SchedMount = "sched" | "sched-hib";

/** A client of `mount` that got its `welcome` and joined `room`. */
async function member(
  mount: SchedMount,
  room: string,
  transports: Array<"websocket" | "polling"> | undefined = ["websocket"],
): Promise<Client> {
  const client = await clients.connect(mount, "/", { transports, auth: { name: "scheduler" } });
  await client.next("welcome");
  expect(await client.call("join", room)).toEqual([client.id, room]);
  return client;
}

/** Schedules a task through the `schedule` event; resolves with it and the object's start. */
async function schedule(
  client: Client,
  name: string,
  when: Record<string, unknown>,
  payload?: unknown,
): Promise<{ task: Task; start: number }> {
  const answer = await client.call<{ task?: Task; start: number; error?: string }>(
    "schedule",
    name,
    when,
    payload ?? null,
  );
  if (!answer.task) throw new Error(`schedule failed: ${answer.error}`);
  return { task: answer.task, start: answer.start };
}

/** The ids of the stored tasks named `notify`. */
async function listed(client: Client): Promise<string[]> {
  return (await client.call<Task[]>("schedules", "notify")).map((t) => t.id);
}

/** `stats()` of the `/sched-hib/` object (an event for the object: it wakes it up). */
async function stats(): Promise<{ wakes: number; clientsCount: number; scheduledTasks: number }> {
  const result = await request(`${baseUrl()}/__stats?mount=sched-hib`);
  if (result.status !== 200) throw new Error(`/__stats answered ${result.status}: ${result.body}`);
  return JSON.parse(result.body);
}

describe("/sched/: tasks scheduled by event handlers", () => {
  for (const mode of MODES) {
    it(`${mode.name}: a task fires later and emits to the client's room; it is listed until then, and replaced by its id`, async () => {
      const room = `sched-${uid()}`;
      const a = await member("sched", room, mode.transports);
      await settled(a, mode);
      const key = `close-${uid()}`;
      const far = await schedule(
        a,
        "notify",
        { delay: 60_000, id: key },
        { room, event: "ring", args: ["far"] },
      );
      expect(far.task).toMatchObject({
        id: key,
        name: "notify",
        payload: { room, event: "ring", args: ["far"] },
      });
      expect(await listed(a)).toContain(key);
      // The same id again: the task moves to 300 ms from now, with its new payload.
      const soon = await schedule(
        a,
        "notify",
        { delay: 300, id: key },
        { room, event: "ring", args: ["soon"] },
      );
      expect(soon.task.at).toBeLessThan(far.task.at);

      const [rung] = (await a.next("ring", 10_000)) as [Rung];
      expect(rung).toEqual({ args: ["soon"], id: key, at: soon.task.at, start: soon.start });
      // Ran once, and gone: the row is deleted before the emit leaves the object.
      expect(await listed(a)).not.toContain(key);
      expect(a.count("ring")).toBe(1);
    });
  }

  it("a cancelled task does not run; the one after it does", async () => {
    const room = `sched-${uid()}`;
    const a = await member("sched", room);
    const at = Date.now() + 3_000;
    const dropped = await schedule(a, "notify", { at }, { room, event: "ring", args: ["dropped"] });
    const kept = await schedule(
      a,
      "notify",
      { at: at + 1 },
      { room, event: "ring", args: ["kept"] },
    );
    expect(await listed(a)).toEqual(expect.arrayContaining([dropped.task.id, kept.task.id]));
    expect(await a.call("cancel-schedule", dropped.task.id)).toBe(true);
    expect(await a.call("cancel-schedule", dropped.task.id)).toBe(false);

    // Tasks run soonest first: the cancelled one would have come before this one.
    expect(((await a.next("ring", 10_000)) as [Rung])[0].args).toEqual(["kept"]);
    expect(a.count("ring")).toBe(1);
    expect(await listed(a)).not.toContain(dropped.task.id);
  });

  it("a repeating task keeps emitting while the heartbeat keeps every connection alive, and closes a silent one; cancelled, it stops", {
    timeout: 40_000,
  }, async () => {
    const room = `sched-${uid()}`;
    const a = await member("sched", room);
    const ticks: Rung[] = [];
    a.socket.on("tick", (rung: Rung) => ticks.push(rung));
    // A raw engine session answering pings, and one that never answers them.
    const pinged = await clients.raw("sched");
    await pinged.connect("/");
    const silent = await clients.raw("sched", { autoPong: false });
    await silent.connect("/");
    const tick = `tick-${uid()}`;
    const { task } = await schedule(a, "notify", { every: 150, id: tick }, { room, event: "tick" });
    expect(task).toMatchObject({ id: tick, every: 150 });

    // The heartbeat's pings keep coming (1 s apart) among the ticks, and the session that
    // does not answer them is closed for it (pingTimeout 2 s).
    await waitUntil(
      async () => ({ pings: pinged.ws.pingsAnswered, ticks: ticks.length }),
      (v) => v.pings >= 3 && v.ticks >= 10,
      { timeoutMs: 20_000, intervalMs: 100, what: "3 pings and 10 ticks" },
    );
    await silent.waitClosed(10_000);
    const beforeClose = ticks.length;
    await waitUntil(
      async () => ticks.length,
      (n) => n > beforeClose,
      { timeoutMs: 10_000, what: "ticks after the silent session was closed" },
    );
    expect(a.socket.connected).toBe(true);
    expect(pinged.isOpen).toBe(true);
    expect(new Set(ticks.map((t) => t.id))).toEqual(new Set([tick]));
    // Each run emits once per time on the task's grid, later each time.
    const times = ticks.map((t) => t.at);
    expect(new Set(times).size).toBe(times.length);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    for (const at of times) expect((at - task.at) % 150).toBe(0);

    // Cancelled: no tick after the answer (they leave in order on the one connection),
    // while a later task still runs.
    expect(await a.call("cancel-schedule", tick)).toBe(true);
    const atCancel = ticks.length;
    await schedule(a, "notify", { delay: 1_000 }, { room, event: "after" });
    await a.next("after", 10_000);
    expect(ticks.length).toBe(atCancel);
    expect(await listed(a)).not.toContain(tick);
  });
});

describe("/sched-hib/: a task across an eviction of the object", () => {
  it("a task scheduled before the object was evicted wakes it and reaches the client", {
    timeout: 90_000,
  }, async () => {
    await waitUntil(stats, (s) => s.clientsCount === 0 && s.scheduledTasks === 0, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: "/sched-hib/ without sessions nor tasks",
    });
    const room = `sched-hib-${uid()}`;
    const a = await member("sched-hib", room);
    const before = await stats();
    // The last event: from here on the object is idle (the first ping comes 25 s after
    // the handshake), and wrangler dev evicts it after 10 to 15 s.
    const { task, start } = await schedule(
      a,
      "notify",
      { delay: 22_000 },
      { room, event: "ring", args: ["woken"] },
    );
    expect(start).toBe(before.wakes);

    const [rung] = (await a.next("ring", 45_000)) as [Rung];
    expect(rung.args).toEqual(["woken"]);
    expect(rung.id).toBe(task.id);
    expect(rung.start, "the task ran in an instance started after the eviction").toBeGreaterThan(
      start,
    );
    const after = await stats();
    expect(after.wakes).toBeGreaterThan(before.wakes);
    expect(after.scheduledTasks).toBe(0);
    expect(a.socket.connected).toBe(true);
    expect(await a.call<{ recovered: boolean }>("whoami")).toMatchObject({ recovered: true });
  });
});
