/**
 * socket.io-durable: Socket.IO on Cloudflare Durable Objects.
 */
export { EngineIoServer } from "./shim/engine-server.js";
export type { EngineCloseReason, EngineData } from "./shim/engine-server.js";
export { SocketIoServer } from "./socketio-server.js";
export { routeSocketIo } from "./router.js";
export type { RouteOptions } from "./router.js";
export type { AllowRequest, CorsOptions, EngineOptions } from "./options.js";
