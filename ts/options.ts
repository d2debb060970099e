/**
 * Server options, with Socket.IO's names and defaults.
 */

/** CORS settings, with the semantics of the `cors` package that Socket.IO uses. */
export interface CorsOptions {
  /**
   * Allowed origins: `"*"`, one origin, a RegExp, a list of both, `true` (reflect the
   * request's origin), `false` (no CORS), or a function deciding per origin.
   */
  origin?:
    | boolean
    | string
    | RegExp
    | (string | RegExp)[]
    | ((
        origin: string | undefined,
        callback: (
          err: Error | null,
          origin?: boolean | string | RegExp | (string | RegExp)[],
        ) => void,
      ) => void);
  /** Allowed methods (default `GET,HEAD,PUT,PATCH,POST,DELETE`). */
  methods?: string | string[];
  /** Allowed request headers (default: those the preflight asks for). */
  allowedHeaders?: string | string[];
  /** Response headers exposed to the page. */
  exposedHeaders?: string | string[];
  /** Whether to send `Access-Control-Allow-Credentials: true`. */
  credentials?: boolean;
  /** Preflight cache lifetime in seconds. */
  maxAge?: number;
  /** Status of a successful preflight (default 204). */
  optionsSuccessStatus?: number;
}

/**
 * Decides whether a handshake is accepted. Call `callback(null, true)` to accept,
 * `callback("reason", false)` to refuse (HTTP 403, Engine.IO error code 4).
 */
export type AllowRequest = (
  req: Request,
  callback: (err: string | null | undefined, success: boolean) => void,
) => void;

/** Options of the Engine.IO layer (a subset of Socket.IO's server options). */
export interface EngineOptions {
  /** Path the server answers on (default `/socket.io/`). */
  path?: string;
  /** Milliseconds between two server pings (default 25000). */
  pingInterval?: number;
  /** Milliseconds a client has to answer a ping (default 20000). */
  pingTimeout?: number;
  /** Largest message or POST body in bytes (default 1e6). */
  maxHttpBufferSize?: number;
  /** Enabled transports (default `["polling", "websocket"]`). */
  transports?: ("polling" | "websocket")[];
  /** Whether polling sessions may upgrade to WebSocket (default true). */
  allowUpgrades?: boolean;
  /** Milliseconds an upgrade may take (default 10000). */
  upgradeTimeout?: number;
  /** CORS settings; without them no CORS header is sent. */
  cors?: CorsOptions;
  /** Hook that can refuse a handshake. */
  allowRequest?: AllowRequest;
  /**
   * Whether clients of Engine.IO protocol v3 (socket.io-client 1.x and 2.x) may connect
   * (default false: their handshake is refused with `400 {"code":5,...}`). Their pings
   * over WebSocket are answered by the runtime without waking the object.
   */
  allowEIO3?: boolean;
  /**
   * Debug logs to print, named as in the `DEBUG` variable of the `debug` package
   * (`"socket.io-durable:*"`; see `ts/debug.ts`). Default: the object's `env.DEBUG`
   * (a `vars` entry of wrangler.jsonc, or `.dev.vars`); off when neither is set.
   */
  debug?: string;
}

/**
 * Header set by `routeSocketIo` on what it forwards: the mount path it matched, which
 * the object then serves (its own `path` option is for requests that come another way).
 */
export const PATH_HEADER = "x-socket-io-durable-path";

/** Normalises a mount path to start and end with `/`. */
export function normalizePath(path: string | undefined): string {
  let p = path ?? "/socket.io/";
  if (!p.startsWith("/")) p = `/${p}`;
  if (!p.endsWith("/")) p = `${p}/`;
  return p;
}

/** Whether `pathname` is under the mount `path` (normalised). */
export function matchesPath(pathname: string, path: string): boolean {
  return pathname.startsWith(path) || pathname === path.slice(0, -1);
}
