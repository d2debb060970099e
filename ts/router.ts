/**
 * `routeSocketIo`: sends Engine.IO/Socket.IO requests of a Worker to the Durable
 * Object that owns them, and returns `null` for every other request so the app's
 * own routes keep working.
 */
import { matchesPath, normalizePath, PATH_HEADER } from "./options.js";
import {
  inJurisdiction,
  isServerName,
  MAX_SHARDS,
  SHARDS_HEADER,
  shardName,
  shardOfSid,
} from "./shards.js";

/** The part of a `DurableObjectNamespace` binding that routing needs. */
export interface SocketIoNamespace {
  /** Derives the object id of a name. */
  idFromName(name: string): DurableObjectId;
  /** A stub of the object. */
  get(
    id: DurableObjectId,
    options?: { locationHint?: DurableObjectLocationHint },
  ): { fetch(request: Request): Promise<Response> };
  /** The subnamespace of a jurisdiction (needed by the `jurisdiction` option only). */
  jurisdiction?(jurisdiction: DurableObjectJurisdiction): SocketIoNamespace;
}

/** Options of {@link routeSocketIo}. */
export interface RouteOptions {
  /**
   * Mount path (default `/socket.io/`), the one the clients use. The object serves the
   * requests this router forwards under this path, whatever its own `path` option says
   * (that one is for requests that reach the object another way).
   */
  path?: string;
  /**
   * Name of the Durable Object that serves the request (default `"default"`). Every
   * request of one session must map to the same name: derive it from what the client
   * repeats on each request (the URL's query, e.g. a room parameter), never from
   * something that changes between the handshake, the polls and the upgrade.
   */
  name?: string | ((request: Request) => string | Promise<string>);
  /**
   * Number of Durable Objects (shards) that together run this one server (default 1).
   * New sessions are spread over them at random; every later request of a session goes
   * to the shard named in its session id. Broadcasts, `fetchSockets`, `socketsJoin`,
   * `serverSideEmit` and the rest reach every shard over RPC. Declared here only: the
   * objects learn the count from the requests this router forwards, and the emitter
   * (`socketIo`) from the objects.
   */
  shards?: number;
  /**
   * Where to create an object that does not exist yet (`"weur"`, `"enam"`, ...: see
   * Cloudflare's Durable Object location hints); an existing object stays where it
   * is. With shards, each shard is created where its first handshake asks.
   */
  locationHint?: DurableObjectLocationHint;
  /**
   * The jurisdiction (`"eu"`, `"fedramp"`, ...) that the server's objects run and keep
   * their data in: every shard is taken from `namespace.jurisdiction(jurisdiction)`.
   * A name makes a different object in each jurisdiction (and outside of any), so adding,
   * removing or changing it starts an empty server. The emitter (`socketIo`) takes the
   * same option; the shards find each other in their own jurisdiction.
   */
  jurisdiction?: DurableObjectJurisdiction;
  /**
   * Runs at the edge, before the object is reached (or woken), for each handshake (a
   * request without `sid`): return a `Response` to answer it instead (for instance a
   * 401 or 403), a `Request` to forward that one instead (for instance with headers
   * added for the server's `socket.handshake`), or nothing to forward it as it is.
   * Later requests of a session (polls, posts, the upgrade) and CORS preflights are not
   * passed to it. The object's name is taken from the original request.
   */
  onBeforeConnect?: (
    request: Request,
  ) => Request | Response | undefined | void | Promise<Request | Response | undefined | void>;
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
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new RangeError(`routeSocketIo: shards must be a whole number from 1 to ${MAX_SHARDS}`);
  }
  const name =
    typeof options.name === "function" ? await options.name(request) : (options.name ?? "default");
  if (!isServerName(name)) return new Response("Bad Request", { status: 400 });
  const sid = url.searchParams.get("sid");
  let chosen = request;
  // Handshakes only (not their CORS preflights, as allowRequest in Node).
  if (sid === null && options.onBeforeConnect && request.method !== "OPTIONS") {
    const decided = await options.onBeforeConnect(request);
    if (decided instanceof Response) return decided;
    if (decided instanceof Request) chosen = decided;
  }
  const index =
    shards === 1 ? 0 : sid === null ? Math.floor(Math.random() * shards) : shardOfSid(sid, shards);
  const objects = inJurisdiction(namespace, options.jurisdiction, "routeSocketIo");
  const id = objects.idFromName(shardName(name, index));
  const stub = options.locationHint
    ? objects.get(id, { locationHint: options.locationHint })
    : objects.get(id);
  const forwarded = new Request(chosen);
  forwarded.headers.set(SHARDS_HEADER, String(shards));
  forwarded.headers.set(PATH_HEADER, path);
  return stub.fetch(forwarded);
}
