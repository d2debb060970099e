/**
 * The handshake details of an engine session, as `socket.handshake` shows them: taken
 * from its handshake request (headers, query, address, time, url), without the `auth`,
 * which comes with each namespace's CONNECT.
 */
import type { Handshake } from "./socket.js";

/** The handshake details of an engine session (the `auth` comes per namespace). */
export type HandshakeBase = Omit<Handshake, "auth">;

/** Handshake details of a request. */
export function handshakeOf(request: Request): HandshakeBase {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name] = value;
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const prev = query[name];
    if (prev === undefined) query[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else query[name] = [prev, value];
  }
  const now = new Date();
  return {
    headers,
    query,
    address: request.headers.get("CF-Connecting-IP") ?? "127.0.0.1",
    time: now.toString(),
    issued: now.getTime(),
    url: url.pathname + url.search,
    secure: url.protocol === "https:" || url.protocol === "wss:",
    xdomain: request.headers.has("Origin"),
  };
}

/** Handshake details when the request is not known any more. */
export function unknownHandshake(): HandshakeBase {
  const now = new Date();
  return {
    headers: {},
    query: {},
    address: "127.0.0.1",
    time: now.toString(),
    issued: now.getTime(),
    url: "",
    secure: false,
    xdomain: false,
  };
}
