/**
 * `SocketIoServer`: the Durable Object base class that user apps extend.
 *
 * At this stage it hosts the Engine.IO layer alone (see {@link EngineIoServer}); the
 * Socket.IO layer (namespaces, events, acks, rooms) builds on it.
 */
import { EngineIoServer } from "./shim/engine-server.js";

/** Base class of a Socket.IO server Durable Object. */
export class SocketIoServer<Env = unknown> extends EngineIoServer<Env> {}
