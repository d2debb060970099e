/**
 * Type checks of a typed `SocketIoServer` subclass: the event maps and the data type
 * are written once, on the class, and `setup(io: this["io"])`, `this.io` and the
 * emitter of a binding typed with the class all follow them. Only compiled (the root
 * tsconfig.json includes test/types/), never run. Each `@ts-expect-error` line must
 * fail to type-check: a check that stops failing fails the compilation.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: helpers for any server take `any` maps
import {
  type DisconnectReason,
  type Namespace,
  type RemoteSocket,
  type Server,
  type Socket,
  SocketIoServer,
  socketIo,
} from "../../ts/index.js";

interface ClientToServer {
  say: (room: string, text: string) => void;
  join: (room: string, ack: (members: number) => void) => void;
}

interface ServerToClient {
  said: (from: string, text: string) => void;
  count: (n: number, ack: (seen: boolean) => void) => void;
}

interface BetweenShards {
  flush: (room: string) => void;
  size: (ack: (sockets: number) => void) => void;
}

interface ChatData {
  name: string;
}

interface Env {
  CHAT: DurableObjectNamespace<Chat>;
  PLAIN: DurableObjectNamespace<Plain>;
}

declare function expectType<T>(value: T): void;

/** The documented form: the maps on the class, `setup(io: this["io"])`. */
export class Chat extends SocketIoServer<
  Env,
  ClientToServer,
  ServerToClient,
  BetweenShards,
  ChatData
> {
  override setup(io: this["io"]): void {
    expectType<Server<ClientToServer, ServerToClient, BetweenShards, ChatData>>(io);

    io.emit("said", "server", "hello");
    // @ts-expect-error the text is a string
    io.emit("said", "server", 1);
    // @ts-expect-error missing argument
    io.emit("said", "server");
    // @ts-expect-error not an event the server sends
    io.emit("nope", 1);
    // @ts-expect-error a plain broadcast takes no acknowledgement
    io.emit("count", 1, () => {});

    io.on("connection", (socket) => {
      expectType<Socket<ClientToServer, ServerToClient, BetweenShards, ChatData>>(socket);

      // ---- listeners: their arguments come from ClientToServer ----
      socket.on("say", (room, text) => {
        expectType<string>(room);
        expectType<string>(text);
      });
      socket.on("join", (room, ack) => {
        socket.join(room);
        ack(1);
      });
      // @ts-expect-error the acknowledgement takes a number
      socket.on("join", (_room, ack) => ack("one"));
      // @ts-expect-error the text is a string, not a number
      socket.on("say", (_room: string, _text: number) => {});
      socket.on("disconnect", (reason) => expectType<DisconnectReason>(reason));

      // ---- emits: their arguments come from ServerToClient ----
      socket.emit("said", "me", "hi");
      // @ts-expect-error the text is a string
      socket.emit("said", "me", 2);
      socket.emit("count", 3, (seen) => expectType<boolean>(seen));
      socket.to("room").emit("said", "me", "hi");
      // @ts-expect-error the text is a string
      socket.broadcast.emit("said", "me", false);

      // ---- socket.data is ChatData ----
      socket.data.name = "guest";
      expectType<string>(socket.data.name);
      // @ts-expect-error not in ChatData
      socket.data.age = 3;
      // @ts-expect-error name is a string
      socket.data.name = 4;
    });

    // ---- server-side events: BetweenShards ----
    io.serverSideEmit("flush", "room");
    // @ts-expect-error the room is a string
    io.serverSideEmit("flush", 1);
    // @ts-expect-error not a server-side event
    io.serverSideEmit("said", "x", "y");
    io.on("flush", (room) => expectType<string>(room));
    io.on("size", (ack) => ack(io.engine.clientsCount));
    // @ts-expect-error the answer is a number
    io.on("size", (ack) => ack("many"));
  }

  /** `this.io` is the same server, typed the same, in the class's own methods. */
  async announce(text: string): Promise<number> {
    this.io.emit("said", "server", text);
    // @ts-expect-error the text is a string
    this.io.emit("said", "server", 5);
    const sockets = await this.io.fetchSockets();
    for (const s of sockets) {
      expectType<RemoteSocket<ServerToClient, ChatData>>(s);
      expectType<string>(s.data.name);
    }
    const sizes: number[] = await this.io.serverSideEmitWithAck("size");
    return sizes.length;
  }
}

/** A subclass of a subclass: `this["io"]` is still the typed server. */
export class LoudChat extends Chat {
  override setup(io: this["io"]): void {
    super.setup(io);
    io.on("connection", (socket) => {
      socket.emit("said", "server", "welcome");
      // @ts-expect-error the text is a string
      socket.emit("said", "server", null);
    });
  }
}

/** `setup()` without a parameter: `this.io` is typed from the class. */
export class NoParameter extends SocketIoServer<Env, ClientToServer, ServerToClient> {
  override setup(): void {
    this.io.on("connection", (socket) => {
      socket.on("say", (room, text) => socket.to(room).emit("said", socket.id, text));
      // @ts-expect-error the text is a string
      socket.emit("said", socket.id, 0);
    });
  }
}

// ---- the older form: the maps written again on `Server<...>` still compiles --------------

export class Repeated extends SocketIoServer<
  Env,
  ClientToServer,
  ServerToClient,
  BetweenShards,
  ChatData
> {
  override setup(io: Server<ClientToServer, ServerToClient, BetweenShards, ChatData>): void {
    io.on("connection", (socket) => socket.emit("said", "me", "hi"));
  }
}

// ---- a `Server` that is not the class's is a type error ------------------------------------

export class UntypedParameter extends SocketIoServer<Env, ClientToServer, ServerToClient> {
  // @ts-expect-error an untyped `Server` would accept any emit
  override setup(io: Server): void {
    io.emit("nope", 1);
  }
}

export class OtherData extends SocketIoServer<
  Env,
  ClientToServer,
  ServerToClient,
  BetweenShards,
  ChatData
> {
  // @ts-expect-error the data type is not the class's
  override setup(io: Server<ClientToServer, ServerToClient, BetweenShards, { age: number }>): void {
    void io;
  }
}

export class SwappedMaps extends SocketIoServer<Env, ClientToServer, ServerToClient> {
  // @ts-expect-error the maps are swapped
  override setup(io: Server<ServerToClient, ClientToServer>): void {
    void io;
  }
}

export class UntypedSocket extends SocketIoServer<Env, ClientToServer, ServerToClient> {
  override setup(io: this["io"]): void {
    // @ts-expect-error an untyped `Socket` would accept any emit
    io.on("connection", (socket: Socket) => socket.emit("nope"));
    // @ts-expect-error an untyped `Namespace` would accept any emit
    const admin: Namespace = io.of("/admin");
    void admin;
    io.on("connection", (socket) => anySocket(socket));
  }
}

/** A helper for any socket takes `Socket<any, any, any, any>`. */
function anySocket(socket: Socket<any, any, any, any>): void {
  socket.emit("anything");
}

// ---- an unannotated `setup(io)` is an implicit `any`: an error under `strict` -------------

export class Unannotated extends SocketIoServer<Env, ClientToServer, ServerToClient> {
  // @ts-expect-error implicitly `any` (TypeScript types no parameter from the base method)
  override setup(io): void {
    io.emit("nope");
  }
}

// ---- untyped servers: anything goes, as before ---------------------------------------------

export class Plain extends SocketIoServer<Env> {
  override setup(io: Server): void {
    io.emit("anything", 1, { a: 2 });
    io.on("connection", (socket) => {
      socket.data.whatever = 1;
      socket.on("x", (a: unknown) => socket.emit("y", a));
    });
  }
}

export class PlainThisIo extends SocketIoServer<Env> {
  override setup(io: this["io"]): void {
    io.emit("anything", 1);
    helper(io);
  }
}

/** A helper for any server takes `Server<any, any, any, any>`. */
function helper(io: Server<any, any, any, any>): void {
  io.emit("anything");
}

export function typedToHelper(chat: Chat): void {
  helper(chat.io);
}

// ---- the emitter of a binding typed with the class ----------------------------------------

export async function fromOutside(env: Env): Promise<void> {
  const chat = socketIo(env.CHAT);
  await chat.to("room").emit("said", "cron", "tick");
  // @ts-expect-error the text is a string
  await chat.to("room").emit("said", "cron", 1);
  // @ts-expect-error not an event the server sends
  await chat.emit("nope");
  const seen: boolean[] = await chat.timeout(1000).emitWithAck("count", 1);
  void seen;
  // @ts-expect-error "said" takes no acknowledgement
  await chat.emitWithAck("said", "a", "b");

  await chat.serverSideEmit("flush", "room");
  // @ts-expect-error the room is a string
  await chat.serverSideEmit("flush", 2);
  const sizes: number[] = await chat.serverSideEmitWithAck("size");
  void sizes;

  for (const s of await chat.in("room").fetchSockets()) {
    expectType<string>(s.data.name);
    // @ts-expect-error not in ChatData
    void s.data.age;
    await s.emit("said", "cron", "for you");
    // @ts-expect-error the text is a string
    await s.emit("said", "cron", {});
  }

  // An untyped class: untyped emitter.
  await socketIo(env.PLAIN).emit("anything", 1, 2);
}
