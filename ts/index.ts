/**
 * socket.io-durable: Socket.IO on Cloudflare Durable Objects.
 */

export type { AdapterReservedEvents, RoomsAdapter } from "./api/adapter.js";
export type { BroadcastFlags, BroadcastOperator, RemoteSocket } from "./api/broadcast-operator.js";
export type {
  Engine,
  EngineConnectionError,
  EngineHeaders,
  EnginePacket,
  EnginePacketType,
  EngineReadyState,
  EngineReservedEvents,
  EngineSocket,
  EngineSocketReservedEvents,
  EngineTransport,
  TransportName,
} from "./api/engine.js";
export type {
  ExtendedError,
  Namespace,
  NamespaceMiddleware,
  ParentNamespace,
} from "./api/namespace.js";
export type { ParserModule, ParserOption, ServerOptions } from "./api/options.js";
export type { ScheduledTask, ScheduleOptions, TaskHandler } from "./api/scheduler.js";
export type { EngineInfo, ParentNspNameMatchFn, Server } from "./api/server.js";
export type { Client, DisconnectReason, Event, Handshake, Socket } from "./api/socket.js";
export type {
  AllButLast,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DecorateAcknowledgementsWithTimeoutAndMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventNamesWithError,
  EventNamesWithoutAck,
  EventParams,
  EventsMap,
  FirstNonErrorArg,
  Last,
  RemoveAcknowledgements,
} from "./api/typed-events.js";
export type { AllowRequest, CorsOptions, EngineOptions } from "./options.js";
export type { RouteOptions, SocketIoNamespace } from "./router.js";
export { routeSocketIo } from "./router.js";
export type {
  EmitterNamespace,
  EmitterOptions,
  EmitterSocket,
  ServerEmitter,
} from "./server-emitter.js";
export { socketIo } from "./server-emitter.js";
export type { EngineCloseReason, EngineData } from "./shim/engine-server.js";
export { EngineIoServer } from "./shim/engine-server.js";
export { SocketIoServer } from "./socketio-server.js";
