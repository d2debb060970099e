/**
 * Worker of the in-workerd tests (test/workerd/*.test.ts): one Socket.IO Durable Object
 * with Socket.IO's default heartbeat, whose handlers report what a socket knows about
 * itself, so that a test can compare it before and after the object is rebuilt over
 * the same storage and WebSockets.
 *
 * Requests go to the object named by the `object` query parameter (one per test).
 */

import { routeSocketIo, type ServerOptions, type Socket, SocketIoServer } from "../../ts/index.js";

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

/** What the listeners of the current instance saw: sockets connected (or revived) and left. */
export interface Runs {
  connections: string[];
  disconnects: { id: string; nsp: string; reason: string }[];
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
  readonly runs: Runs = { connections: [], disconnects: [] };

  override setup(io: this["io"]): void {
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
    const response = await routeSocketIo(request, env.HIB, {
      path: "/hib/",
      name: (r) => new URL(r.url).searchParams.get("object") ?? "default",
    });
    return response ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
