/**
 * `routeSocketIo`: sends Engine.IO/Socket.IO requests of a Worker to the Durable
 * Object that owns them, and returns `null` for every other request so the app's
 * own routes keep working.
 */
import { matchesPath, normalizePath } from "./options.js";

/** The part of a `DurableObjectNamespace` binding that routing needs. */
export interface SocketIoNamespace {
  /** Derives the object id of a name. */
  idFromName(name: string): DurableObjectId;
  /** A stub of the object. */
  get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
}

/** Options of {@link routeSocketIo}. */
export interface RouteOptions {
  /** Mount path (default `/socket.io/`); must match the server's `path` option. */
  path?: string;
  /**
   * Name of the Durable Object that serves the request (default `"default"`). Every
   * request of one session must map to the same name: derive it from what the client
   * repeats on each request (the URL's query, e.g. a room parameter), never from
   * something that changes between the handshake, the polls and the upgrade.
   */
  name?: string | ((request: Request) => string | Promise<string>);
}

/**
 * Forwards `request` to the Socket.IO Durable Object if it is under the mount path;
 * otherwise resolves to `null`.
 */
export async function routeSocketIo(
  request: Request,
  namespace: SocketIoNamespace,
  options: RouteOptions = {},
): Promise<Response | null> {
  const path = normalizePath(options.path);
  const url = new URL(request.url);
  if (!matchesPath(url.pathname, path)) return null;
  const name =
    typeof options.name === "function" ? await options.name(request) : (options.name ?? "default");
  const stub = namespace.get(namespace.idFromName(name));
  return stub.fetch(request);
}
