/**
 * Worker of the in-workerd tests (test/workerd/*.test.ts): one Socket.IO Durable Object
 * with Socket.IO's default heartbeat, whose handlers report what a socket knows about
 * itself, so that a test can compare it before and after the object is rebuilt over
 * the same storage and WebSockets.
 *
 * Requests go to the object named by the `object` query parameter (one per test).
 */

import {
  routeSocketIo,
  type ScheduledTask,
  type ScheduleOptions,
  type ServerOptions,
  type Socket,
  SocketIoServer,
} from "../../ts/index.js";

type Ack = (value: unknown) => void;

/** What a socket knows about itself (the `whoami` event answers it). */
export interface SocketView {
  id: string;
  nsp: string;
  data: unknown;
  recovered: boolean;
  rooms: string[];
  handshake: {
    auth: Record<string, unknown>;
    query: Record<string, string | string[]>;
    headers: Record<string, string>;
    address: string;
    time: string;
    issued: number;
    url: string;
    secure: boolean;
    xdomain: boolean;
  };
}

/**
 * What the listeners of the current instance saw: sockets connected (or revived) and
 * left, and the scheduled tasks whose handler ran.
 */
export interface Runs {
  connections: string[];
  disconnects: { id: string; nsp: string; reason: string }[];
  tasks: { id: string; name: string; at: number; payload: unknown }[];
  /** Engine and room events, one line each (`WatchedServer` only). */
  seen: string[];
}

/** The payload of a `notify` task: an event emitted to a room when it runs. */
export interface Notify {
  room: string;
  event: string;
  args?: unknown[];
}

/** Events every namespace of the server answers. */
function common(socket: Socket, runs: Runs): void {
  runs.connections.push(socket.id);
  socket.on("whoami", (ack: Ack) => ack(view(socket)));
  // A listener that fails, at once or later: its error is logged with where it ran.
  socket.on("explode", (how: string) => {
    if (how === "reject") return Promise.reject(new Error("kaboom later"));
    throw new Error("kaboom");
  });
  socket.on("join", (rooms: string | string[], ack?: Ack) => {
    socket.join(rooms);
    ack?.([...socket.rooms].sort());
  });
  socket.on("leave", (room: string, ack?: Ack) => {
    socket.leave(room);
    ack?.([...socket.rooms].sort());
  });
  // Room changes applied in order in one handler, one `join`/`leave` call each.
  socket.on("rooms", (ops: ["join" | "leave", string][], ack?: Ack) => {
    for (const [op, room] of ops) {
      if (op === "join") socket.join(room);
      else socket.leave(room);
    }
    ack?.([...socket.rooms].sort());
  });
  // `io.in(target).socketsJoin(rooms)` / `socketsLeave(rooms)` (every socket of the
  // namespace when `target` is null).
  socket.on("sockets-join", (target: string | null, rooms: string[], ack?: Ack) => {
    (target === null ? socket.nsp : socket.nsp.in(target)).socketsJoin(rooms);
    ack?.(null);
  });
  socket.on("sockets-leave", (target: string | null, rooms: string[], ack?: Ack) => {
    (target === null ? socket.nsp : socket.nsp.in(target)).socketsLeave(rooms);
    ack?.(null);
  });
  socket.on("set-data", (data: unknown, ack?: Ack) => {
    socket.data = data;
    ack?.(null);
  });
  // Server→client acknowledgement: the packet carries the ack id the server chose; the
  // answer comes back as an `answered` event.
  socket.on("ask", (question: unknown) => {
    socket.emit("question", question, (answer: unknown) => socket.emit("answered", answer));
  });
  // A broadcast from this socket to rooms of its namespace (the sender excluded).
  socket.on("cast", (rooms: string[], event: string, ...args: unknown[]) => {
    socket.to(rooms).emit(event, ...args);
  });
  socket.on("disconnecting", (reason: string) => {
    runs.disconnects.push({ id: socket.id, nsp: socket.nsp.name, reason });
    socket.nsp.to("observers").emit("gone", { id: socket.id, reason });
  });
}

function view(socket: Socket): SocketView {
  const h = socket.handshake;
  return {
    id: socket.id,
    nsp: socket.nsp.name,
    data: socket.data,
    recovered: socket.recovered,
    rooms: [...socket.rooms].sort(),
    handshake: {
      auth: h.auth,
      query: h.query,
      headers: h.headers,
      address: h.address,
      time: h.time,
      issued: h.issued,
      url: h.url,
      secure: h.secure,
      xdomain: h.xdomain,
    },
  };
}

/**
 * `/hib/`: Socket.IO's default heartbeat (ping every 25 s, 20 s to answer), a main
 * namespace, a static `/admin` namespace, and dynamic children of a RegExp parent
 * (`/dyn-<word>`) and of a function parent (`/fn-<anything>`).
 */
export class HibServer extends SocketIoServer<Env> {
  static override options: ServerOptions = {
    path: "/hib/",
    pingInterval: 25_000,
    pingTimeout: 20_000,
    connectTimeout: 45_000,
  };

  /** What the listeners of this instance saw (memory only: a new instance starts empty). */
  readonly runs: Runs = { connections: [], disconnects: [], tasks: [], seen: [] };
  /** The runs of `hold` tasks waiting to be let go ({@link release}). */
  readonly #held: (() => void)[] = [];

  /** Lets every waiting `hold` task finish; how many there were. */
  release(): number {
    const held = this.#held.splice(0);
    for (const done of held) done();
    return held.length;
  }

  override setup(io: this["io"]): void {
    // Scheduled tasks: `notify` emits to a room, `count` only counts, `fail` and
    // `fail-later` fail at once or later, `hold` waits until the test releases it.
    const ran = (task: ScheduledTask) =>
      this.runs.tasks.push({ id: task.id, name: task.name, at: task.at, payload: task.payload });
    io.onSchedule<Notify>("notify", (p, task) => {
      ran(task);
      io.to(p.room).emit(p.event, ...(p.args ?? []), { id: task.id, at: task.at });
    });
    io.onSchedule("count", (_p, task) => {
      ran(task);
    });
    io.onSchedule("fail", (_p, task) => {
      ran(task);
      throw new Error("task broke");
    });
    io.onSchedule("fail-later", async (_p, task) => {
      ran(task);
      await Promise.resolve();
      throw new Error("task broke later");
    });
    io.onSchedule("hold", (_p, task) => {
      ran(task);
      return new Promise<void>((resolve) => this.#held.push(resolve));
    });
    io.on("connection", (socket) => {
      // A revived socket keeps the data it had; only a new one is initialised.
      if (!socket.recovered) socket.data = { name: socket.handshake.auth.name ?? null };
      common(socket, this.runs);
      socket.on("rooms-of-nsp", (ack: Ack) => {
        const rooms: Record<string, string[]> = {};
        for (const [room, ids] of io.of("/").adapter.rooms) rooms[room] = [...ids].sort();
        ack(rooms);
      });
      socket.on("fetch", async (room: string, ack: Ack) => {
        const sockets = await io.in(room).fetchSockets();
        ack(
          sockets
            .map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data }))
            .sort((a, b) => (a.id < b.id ? -1 : 1)),
        );
      });
      socket.on("count", (ack: Ack) => {
        ack({ engine: io.engine.clientsCount, sockets: io.of("/").sockets.size });
      });
      // The scheduler from an event handler: answers the task, or the error thrown.
      socket.on("schedule", (name: string, when: ScheduleOptions, payload: unknown, ack: Ack) => {
        try {
          ack({ task: io.schedule(name, when, payload ?? undefined) });
        } catch (e) {
          ack({ error: String(e) });
        }
      });
      socket.on("schedules", (name: string | null, ack: Ack) =>
        ack(io.schedules(name ?? undefined)),
      );
      socket.on("cancel-schedule", (id: string, ack: Ack) => ack(io.cancelSchedule(id)));
      socket.on("cancel-schedules", (name: string, ack: Ack) => ack(io.cancelSchedules(name)));
    });
    io.of("/admin").on("connection", (socket) => common(socket, this.runs));
    const dyn = io.of(/^\/dyn-\w+$/);
    dyn.on("connection", (socket) => {
      common(socket, this.runs);
      // An emit on the parent reaches every child namespace.
      socket.on("parent-cast", (event: string) => dyn.emit(event, socket.nsp.name));
    });
    io.of((name, _auth, next) => next(null, name.startsWith("/fn-"))).on("connection", (socket) =>
      common(socket, this.runs),
    );
  }
}

/** `HibServer` with every debug log on, at `/debug/`. */
export class DebugServer extends HibServer {
  static override options: ServerOptions = {
    ...HibServer.options,
    path: "/debug/",
    debug: "socket.io-durable:*",
  };
}

/**
 * `HibServer` at `/watched/`, with listeners of the engine's `connection` and `close`
 * and of the room events of `/` (in `runs.seen`), and a `conn` event answering what
 * `socket.conn` shows.
 */
export class WatchedServer extends HibServer {
  static override options: ServerOptions = { ...HibServer.options, path: "/watched/" };

  override setup(io: this["io"]): void {
    super.setup(io);
    // `setup` runs in the base constructor, before this class's fields exist.
    const seen = { push: (line: string) => this.runs.seen.push(line) };
    io.engine.on("connection", (conn) => {
      seen.push(`connection ${conn.id} ${conn.transport.name} recovered=${conn.recovered}`);
      conn.on("close", (reason) => seen.push(`close ${conn.id} ${reason}`));
    });
    const adapter = io.of("/").adapter;
    adapter.on("create-room", (room) => seen.push(`create-room ${room}`));
    adapter.on("join-room", (room, id) => seen.push(`join-room ${room} ${id}`));
    adapter.on("leave-room", (room, id) => seen.push(`leave-room ${room} ${id}`));
    adapter.on("delete-room", (room) => seen.push(`delete-room ${room}`));
    io.on("connection", (socket) => {
      socket.on("conn", (ack: Ack) =>
        ack({
          sid: socket.conn.id,
          transport: socket.conn.transport.name,
          readyState: socket.conn.readyState,
          recovered: socket.conn.recovered,
          url: socket.request?.url ?? null,
          remoteAddress: socket.conn.remoteAddress ?? null,
        }),
      );
    });
  }
}

/** A server whose `setup()` throws. */
export class BrokenServer extends SocketIoServer<Env> {
  static override options: ServerOptions = { path: "/broken/" };

  override setup(_io: this["io"]): void {
    throw new Error("setup broke");
  }
}

/** A server whose `setup()` rejects, after a wait. */
export class LateBrokenServer extends SocketIoServer<Env> {
  static override options: ServerOptions = { path: "/broken-later/" };

  override async setup(_io: this["io"]): Promise<void> {
    await Promise.resolve();
    throw new Error("setup broke later");
  }
}

interface Env {
  HIB: DurableObjectNamespace<HibServer>;
  BROKEN: DurableObjectNamespace<BrokenServer>;
  BROKEN_LATER: DurableObjectNamespace<LateBrokenServer>;
  DEBUGGED: DurableObjectNamespace<DebugServer>;
  WATCHED: DurableObjectNamespace<WatchedServer>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const broken =
      (await routeSocketIo(request, env.BROKEN, { path: "/broken/" })) ??
      (await routeSocketIo(request, env.BROKEN_LATER, { path: "/broken-later/" }));
    if (broken) return broken;
    const debugged = await routeSocketIo(request, env.DEBUGGED, {
      path: "/debug/",
      name: (r) => new URL(r.url).searchParams.get("object") ?? "default",
    });
    if (debugged) return debugged;
    const watched = await routeSocketIo(request, env.WATCHED, {
      path: "/watched/",
      name: (r) => new URL(r.url).searchParams.get("object") ?? "default",
    });
    if (watched) return watched;
    const response = await routeSocketIo(request, env.HIB, {
      path: "/hib/",
      name: (r) => new URL(r.url).searchParams.get("object") ?? "default",
    });
    return response ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
