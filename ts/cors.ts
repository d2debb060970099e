/**
 * CORS headers for Engine.IO responses, following the `cors` package that the Node
 * server uses: `Vary: Origin` when the origin is reflected, preflight answered with
 * the allowed methods and headers.
 */
import type { CorsOptions } from "./options.js";

const DEFAULT_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";

function list(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(",") : v;
}

function originAllowed(origin: string, allowed: string | RegExp | (string | RegExp)[]): boolean {
  if (Array.isArray(allowed)) return allowed.some((a) => originAllowed(origin, a));
  if (typeof allowed === "string") return origin === allowed;
  return allowed.test(origin);
}

type StaticOrigin = boolean | string | RegExp | (string | RegExp)[];

async function resolveOrigin(
  opts: CorsOptions,
  origin: string | undefined,
): Promise<StaticOrigin | undefined> {
  const o = opts.origin;
  if (typeof o !== "function") return o ?? "*";
  return new Promise((resolve, reject) => {
    o(origin, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

/**
 * The CORS headers for `request`, or an empty set when `opts` is undefined.
 * `preflight` adds the method/header/max-age answers of an OPTIONS request.
 */
export async function corsHeaders(
  opts: CorsOptions | undefined,
  request: Request,
  preflight: boolean,
): Promise<Headers> {
  const headers = new Headers();
  if (!opts) return headers;
  const requestOrigin = request.headers.get("Origin") ?? undefined;
  const allowed = await resolveOrigin(opts, requestOrigin);
  if (allowed === false) return headers;
  if (allowed === "*" || allowed === undefined) {
    headers.set("Access-Control-Allow-Origin", "*");
  } else if (allowed === true) {
    if (requestOrigin) headers.set("Access-Control-Allow-Origin", requestOrigin);
    headers.append("Vary", "Origin");
  } else if (typeof allowed === "string") {
    headers.set("Access-Control-Allow-Origin", allowed);
    headers.append("Vary", "Origin");
  } else {
    if (requestOrigin && originAllowed(requestOrigin, allowed)) {
      headers.set("Access-Control-Allow-Origin", requestOrigin);
    }
    headers.append("Vary", "Origin");
  }
  if (opts.credentials) headers.set("Access-Control-Allow-Credentials", "true");
  const exposed = list(opts.exposedHeaders);
  if (exposed) headers.set("Access-Control-Expose-Headers", exposed);
  if (preflight) {
    headers.set("Access-Control-Allow-Methods", list(opts.methods) ?? DEFAULT_METHODS);
    const allowedHeaders =
      list(opts.allowedHeaders) ?? request.headers.get("Access-Control-Request-Headers");
    if (allowedHeaders) {
      headers.set("Access-Control-Allow-Headers", allowedHeaders);
      if (opts.allowedHeaders === undefined)
        headers.append("Vary", "Access-Control-Request-Headers");
    }
    if (opts.maxAge !== undefined) headers.set("Access-Control-Max-Age", String(opts.maxAge));
    headers.set("Content-Length", "0");
  }
  return headers;
}
