// Engine.IO v4 helpers over raw HTTP (fetch) and raw WebSocket, against the
// fixture worker.
import { inject } from "vitest";
import "./context.js";
import { waitUntil, withTimeout } from "./util.js";
import { type Frame, WsClient, type WsClientOptions } from "./ws-client.js";

/** Timings configured on the fixture's mounts. */
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
/** Packet separator of the polling payload format. */
export const SEP = "\x1e";

/** Mount names of the fixture (the path without slashes). */
export type Mount =
  | "engine.io"
  | "eio-steady"
  | "eio-small"
  | "eio-ws-only"
  | "eio-polling-only"
  | "eio-no-upgrade"
  | "eio-auth"
  | "eio-cors";

export function baseUrl(): string {
  return inject("fixtureUrl");
}

export type Query = Record<string, string | undefined>;

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** http://host:port/<mount>/?<query> — parameters with an undefined value are left out. */
export function httpUrl(mount: Mount | string, query: Query = {}): string {
  return `${baseUrl()}/${mount}/${queryString(query)}`;
}

/** ws://host:port/<mount>/?<query> */
export function wsUrl(mount: Mount | string, query: Query = {}): string {
  return httpUrl(mount, query).replace(/^http/, "ws");
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Headers;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const response = await fetch(url, {
    ...init,
    signal: init.signal ?? AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  return { status: response.status, body, headers: response.headers };
}

/** Parses a `{"code":N,"message":"..."}` error answer, checking its content type. */
export function errorBody(result: HttpResult): { code: number; message: string } {
  const type = result.headers.get("content-type") ?? "";
  if (!type.includes("application/json")) {
    throw new Error(
      `expected a JSON error body, got content-type ${JSON.stringify(type)} and body ${JSON.stringify(result.body)}`,
    );
  }
  return JSON.parse(result.body) as { code: number; message: string };
}

export interface OpenPayload {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/** Parses an open packet `0{...}`. */
export function parseOpen(packet: string): OpenPayload {
  if (!packet.startsWith("0"))
    throw new Error(`expected an open packet, got ${JSON.stringify(packet)}`);
  return JSON.parse(packet.slice(1)) as OpenPayload;
}

/** Splits a polling payload into its packets. */
export function decodePayload(body: string): string[] {
  return body === "" ? [] : body.split(SEP);
}

/** Encodes a binary packet for the polling payload format. */
export function b64Packet(bytes: Uint8Array): string {
  return `b${Buffer.from(bytes).toString("base64")}`;
}

/** `{"clientsCount": N}` of the mount's server object. */
export async function clientsCount(mount: Mount): Promise<number> {
  const result = await request(`${baseUrl()}/__stats?mount=${encodeURIComponent(mount)}`);
  if (result.status !== 200) throw new Error(`/__stats answered ${result.status}: ${result.body}`);
  const { clientsCount: count } = JSON.parse(result.body) as { clientsCount: number };
  return count;
}

/** Waits until the mount reports exactly `expected` open sessions. */
export function waitForClientsCount(
  mount: Mount,
  expected: number,
  timeoutMs = 3_000,
): Promise<number> {
  return waitUntil(
    () => clientsCount(mount),
    (count) => count === expected,
    { timeoutMs, intervalMs: 50, what: `clientsCount of ${mount} to be ${expected}` },
  );
}

/**
 * Waits until the mount has no open session left over from earlier tests
 * (abandoned sessions end by ping timeout within ~pingInterval+pingTimeout).
 */
export function settle(mount: Mount, timeoutMs = 5_000): Promise<number> {
  return waitForClientsCount(mount, 0, timeoutMs);
}

/** A long-polling session driven by hand. */
export class PollingSession {
  /** Non-ping packets received through receive() and not consumed yet. */
  private pending: string[] = [];
  /** Pings answered by receive(). */
  pingsAnswered = 0;

  constructor(
    readonly mount: Mount,
    readonly sid: string,
    readonly open: OpenPayload,
    readonly query: Query = {},
  ) {}

  /** Performs the handshake (GET without sid). */
  static async open(mount: Mount = "engine.io", query: Query = {}): Promise<PollingSession> {
    const result = await request(httpUrl(mount, { EIO: "4", transport: "polling", ...query }));
    if (result.status !== 200) {
      throw new Error(`polling handshake on /${mount}/ answered ${result.status}: ${result.body}`);
    }
    return new PollingSession(mount, parseOpen(result.body).sid, parseOpen(result.body), query);
  }

  url(extra: Query = {}): string {
    return httpUrl(this.mount, {
      EIO: "4",
      transport: "polling",
      ...this.query,
      sid: this.sid,
      ...extra,
    });
  }

  /** One raw GET. */
  get(extra: Query = {}, init: RequestInit = {}): Promise<HttpResult> {
    return request(this.url(extra), init);
  }

  /** One raw POST with the given payload. */
  post(body: string | Uint8Array, init: RequestInit = {}): Promise<HttpResult> {
    return request(this.url(), {
      method: "POST",
      body: typeof body === "string" ? body : Buffer.from(body),
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      ...init,
    });
  }

  /** POST that must be accepted (200 "ok"). */
  async send(...packets: string[]): Promise<void> {
    const result = await this.post(packets.join(SEP));
    if (result.status !== 200 || result.body !== "ok") {
      throw new Error(
        `POST ${JSON.stringify(packets.join(SEP).slice(0, 100))} answered ${result.status}: ${result.body}`,
      );
    }
  }

  /**
   * GETs until `count` packets other than ping and noop have arrived,
   * answering each ping with a pong on the way. Returns exactly `count` packets; any extra ones
   * are kept for the next call.
   */
  async receive(count: number, timeoutMs = 5_000): Promise<string[]> {
    const collect = async (): Promise<string[]> => {
      while (this.pending.length < count) {
        const result = await this.get();
        if (result.status !== 200) {
          throw new Error(
            `GET answered ${result.status} (${result.body}) after ${this.pending.length} of ${count} packets`,
          );
        }
        for (const packet of decodePayload(result.body)) {
          if (packet === "2") {
            this.pingsAnswered += 1;
            await this.send("3");
          } else if (packet !== "6") {
            this.pending.push(packet);
          }
        }
      }
      return this.pending.splice(0, count);
    };
    return withTimeout(
      collect(),
      timeoutMs,
      `receiving ${count} packet(s) on polling session ${this.sid}`,
    );
  }

  /** Asks the server to close the session; ignores failures (for cleanup). */
  async close(): Promise<void> {
    try {
      await this.post("1", { signal: AbortSignal.timeout(2_000) });
    } catch {
      // Already gone.
    }
  }
}

/** Opens a WebSocket-only session and reads its open packet. */
export async function openWebSocket(
  mount: Mount = "engine.io",
  query: Query = {},
  options: WsClientOptions = {},
): Promise<{ client: WsClient; open: OpenPayload }> {
  const client = await WsClient.connect(
    wsUrl(mount, { EIO: "4", transport: "websocket", ...query }),
    options,
  );
  const first = await client.nextText();
  return { client, open: parseOpen(first) };
}

/** Next frame that is not a ping; pings met on the way are answered. */
export async function nextNonPing(client: WsClient, timeoutMs = 3_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = await client.next(Math.max(1, deadline - Date.now()));
    if (frame === "2") {
      if (client.isOpen) client.send("3");
      continue;
    }
    return frame;
  }
}

/** Everything a test opened, closed again in afterEach. */
export class Resources {
  private readonly closers: Array<() => Promise<void> | void> = [];

  add<T>(resource: T, close: (resource: T) => Promise<void> | void): T {
    this.closers.push(() => close(resource));
    return resource;
  }

  ws(client: WsClient): WsClient {
    return this.add(client, (c) => c.close());
  }

  polling(session: PollingSession): PollingSession {
    return this.add(session, (s) => s.close());
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    await Promise.all(
      closers.map(async (close) => {
        try {
          await close();
        } catch {
          // Best effort.
        }
      }),
    );
  }
}
