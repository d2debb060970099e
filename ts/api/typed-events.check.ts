/**
 * Type-level checks of the typed event API: this file is only compiled (`tsc`), never
 * run. Each `@ts-expect-error` line must fail to type-check.
 */
import type { RemoteSocket } from "./broadcast-operator.js";
import type { Server } from "./server.js";
import type { DisconnectReason, Socket } from "./socket.js";

interface ClientToServerEvents {
  say: (text: string) => void;
  join: (room: string, ack: (ok: boolean) => void) => void;
}

interface ServerToClientEvents {
  hello: (a: string) => void;
  withAck: (d: string, cb: (n: number) => void) => void;
  nothing: () => void;
}

interface InterServerEvents {
  ping: () => void;
}

interface SocketData {
  name: string;
}

type App = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

declare const io: App;
declare function expectType<T>(value: T): void;

// ---- socket.emit ---------------------------------------------------------------------

export function onSocket(socket: AppSocket): void {
  socket.emit("hello", "x");
  socket.emit("nothing");
  // @ts-expect-error wrong argument type
  socket.emit("hello", 1);
  // @ts-expect-error missing argument
  socket.emit("hello");
  // @ts-expect-error unknown event
  socket.emit("nope");

  socket.emit("withAck", "x", (n) => expectType<number>(n));
  // @ts-expect-error the acknowledgement gets a number
  socket.emit("withAck", "x", (n: string) => n);
  socket.timeout(1000).emit("withAck", "x", (err, n) => {
    expectType<Error>(err);
    expectType<number>(n);
  });

  const one: Promise<number> = socket.emitWithAck("withAck", "x");
  const oneWithTimeout: Promise<number> = socket.timeout(5).emitWithAck("withAck", "x");
  void one;
  void oneWithTimeout;
  // @ts-expect-error "hello" takes no acknowledgement
  socket.emitWithAck("hello", "x");

  // ---- socket.on ---------------------------------------------------------------------

  socket.on("say", (text) => expectType<string>(text));
  socket.on("join", (room, ack) => {
    expectType<string>(room);
    ack(true);
  });
  // @ts-expect-error the acknowledgement takes a boolean
  socket.on("join", (_room, ack) => ack("no"));
  socket.on("disconnect", (reason) => expectType<DisconnectReason>(reason));
  socket.on("disconnecting", (reason) => expectType<DisconnectReason>(reason));
  socket.on("error", (err) => expectType<Error>(err));

  // ---- data, rooms, broadcasts -------------------------------------------------------

  socket.data.name = "x";
  // @ts-expect-error not in SocketData
  socket.data.age = 1;
  expectType<Set<string>>(socket.rooms);

  socket.to("room").emit("hello", "x");
  socket.broadcast.emit("nothing");
  // @ts-expect-error wrong argument type
  socket.to("room").emit("hello", 1);
  socket.broadcast.timeout(1000).emit("withAck", "x", (err, responses) => {
    expectType<Error>(err);
    expectType<number[]>(responses);
  });
}

// ---- server --------------------------------------------------------------------------

io.on("connection", (socket) => onSocket(socket));
io.of("/admin").on("connection", (socket) => socket.emit("hello", "x"));
io.on("new_namespace", (nsp) => expectType<string>(nsp.name));
io.use((socket, next) => (socket.handshake.auth.token ? next() : next(new Error("no"))));

io.emit("hello", "x");
// @ts-expect-error a plain broadcast takes no acknowledgement
io.emit("withAck", "x", () => {});
// @ts-expect-error wrong argument type
io.to("room").emit("hello", 2);

io.timeout(1000).emit("withAck", "x", (err, responses: number[]) => {
  expectType<Error>(err);
  void responses;
});
io.to("room")
  .except("other")
  .timeout(1000)
  .emit("withAck", "x", (_err: Error, responses) => expectType<number[]>(responses));
// @ts-expect-error responses are numbers
io.timeout(1000).emit("withAck", "x", (_err, _responses: string[]) => {});

export async function serverAcks(): Promise<void> {
  const all: number[] = await io.timeout(1000).emitWithAck("withAck", "x");
  const inRoom: number[] = await io.to("r").timeout(1000).emitWithAck("withAck", "x");
  void all;
  void inRoom;
  // @ts-expect-error a broadcast's emitWithAck needs a timeout
  await io.to("room").emitWithAck("withAck", "x");

  const sockets = await io.in("room").fetchSockets();
  for (const s of sockets) {
    expectType<RemoteSocket<ServerToClientEvents, SocketData>>(s);
    expectType<string>(s.data.name);
    s.emit("hello", "x");
    s.join("other");
  }
}

// ---- untyped server: anything goes -----------------------------------------------------

declare const loose: Server;
loose.emit("anything", 1, { a: 2 });
loose.on("connection", (socket) => {
  socket.on("whatever", (a, _b, cb) => cb?.(a));
  socket.emit("x", 1, (answer: unknown) => answer);
  socket.data.anything = 1;
});
loose.timeout(5).emit("x", (_err: Error, _responses: unknown[]) => {});
loose.to("r").emitWithAck("x", 1);

// ---- io.engine, socket.conn and the adapter's events ---------------------------------

export function onEngine(socket: AppSocket): void {
  io.engine.on("connection", (conn) => {
    expectType<"polling" | "websocket">(conn.transport.name);
    conn.on("upgrade", (transport) => expectType<"polling" | "websocket">(transport.name));
    conn.on("close", (reason) => expectType<string>(reason));
    conn.on("packet", (packet) => expectType<string | Uint8Array | undefined>(packet.data));
  });
  io.engine.on("connection_error", (err) => {
    expectType<number>(err.code);
    expectType<Request>(err.req);
  });
  io.engine.on("headers", (headers, req) => {
    headers["x-a"] = ["1", "2"];
    expectType<Request>(req);
  });
  // @ts-expect-error not an engine event
  io.engine.on("nope", () => {});
  expectType<number>(io.engine.clientsCount);
  expectType<string>(socket.conn.id);
  expectType<string>(socket.client.id);
  socket.nsp.adapter.on("join-room", (room, id) => {
    expectType<string>(room);
    expectType<string>(id);
  });
  // @ts-expect-error create-room hands out the room only
  socket.nsp.adapter.on("create-room", (_room: string, _id: string) => {});
}
