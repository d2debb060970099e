/**
 * `socket.io-durable/testing`: connects the real `socket.io-client` to a Worker from a
 * test that runs inside workerd (`@cloudflare/vitest-plugin`), with no network in
 * between. Requests go to whatever answers a `Request`: the Worker under test
 * (`exports.default` of `cloudflare:workers`, or `SELF` of `cloudflare:test`), a
 * Durable Object stub, or a `fetch` function of your own.
 *
 * The client is the npm package itself (`socket.io-client` >= 4.8, a peer dependency
 * of this entry point); only its transports are replaced: HTTP long-polling sends its
 * requests to `target.fetch`, and the WebSocket transport opens its WebSocket with a
 * `fetch` that carries `Upgrade: websocket` and takes the client end from
 * `response.webSocket`.
 */
import {
  Fetch as FetchTransport,
  io,
  type ManagerOptions,
  type Socket,
  type SocketOptions,
  WebSocket as WebSocketTransport,
} from "socket.io-client";

/**
 * What the test clients send their requests to: anything with a `fetch(request)` that
 * answers as the Worker would, such as `exports.default` (from `cloudflare:workers`),
 * `SELF` (from `cloudflare:test`), or a Durable Object stub (which skips the Worker's
 * own `fetch` and its router). To call a module's handler directly, wrap it:
 * `{ fetch: (request) => worker.fetch(request, env, ctx) }`.
 */
export interface RequestTarget {
  fetch(request: Request): Promise<Response>;
}

/** The transports of {@link workerTransports}, by the names the client knows them by. */
export type WorkerTransportName = "polling" | "websocket";

/** A transport class, as socket.io-client's `transports` option takes it. */
export type WorkerTransport = typeof FetchTransport | typeof WebSocketTransport;

/** The options of {@link connectToWorker}: socket.io-client's own, with transports by name. */
export interface ConnectOptions
  extends Omit<Partial<ManagerOptions & SocketOptions>, "transports"> {
  /**
   * The transports to use, in socket.io-client's order of preference (default
   * `["polling", "websocket"]`, the client's own default: a polling handshake, then the
   * upgrade to WebSocket). `["websocket"]` connects over WebSocket at once.
   */
  transports?: WorkerTransportName[];
}

/** The URL the test clients use when none is given (any host reaches the target). */
const DEFAULT_URL = "http://localhost/";

/**
 * socket.io-client transports that reach `target` instead of the network, for the
 * client's `transports` option, in the order given (default polling, then WebSocket):
 *
 * ```ts
 * const socket = io("http://localhost", { transports: workerTransports(exports.default) });
 * ```
 */
export function workerTransports(
  target: RequestTarget,
  names: readonly WorkerTransportName[] = ["polling", "websocket"],
): WorkerTransport[] {
  return names.map((name) => {
    if (name === "polling") return pollingTransport(target);
    if (name === "websocket") return webSocketTransport(target);
    throw new TypeError(`unknown transport ${JSON.stringify(name)}`);
  });
}

/**
 * Connects a new socket.io-client `Socket` to `target` and resolves with it once it is
 * connected; rejects with the client's `connect_error` (a middleware's refusal, an
 * HTTP error of the server), after closing the socket. `url` selects the namespace
 * (`"/admin"`, or a full URL such as `"http://localhost/admin"`; relative URLs are
 * resolved against `http://localhost/`). Each call opens its own connection
 * (`forceNew`), and the client does not reconnect on its own (`reconnection: false`)
 * unless the options say otherwise. Disconnect it at the end of the test
 * (`socket.disconnect()`).
 */
export function connectToWorker(
  target: RequestTarget,
  url = "/",
  options: ConnectOptions = {},
): Promise<Socket> {
  const { transports, ...rest } = options;
  const socket = io(new URL(url, DEFAULT_URL).href, {
    forceNew: true,
    reconnection: false,
    ...rest,
    transports: workerTransports(target, transports),
  });
  return new Promise((resolve, reject) => {
    const onConnect = (): void => {
      socket.off("connect_error", onError);
      resolve(socket);
    };
    const onError = (error: Error): void => {
      socket.off("connect", onConnect);
      socket.disconnect();
      reject(error);
    };
    socket.once("connect", onConnect);
    socket.once("connect_error", onError);
  });
}

/** An Engine.IO packet as engine.io-client hands it to a transport. */
interface EnginePacket {
  type: string;
  data?: unknown;
}

/** The type digits of Engine.IO v4 packets. */
const PACKET_TYPES: Record<string, string> = {
  open: "0",
  close: "1",
  ping: "2",
  pong: "3",
  message: "4",
  upgrade: "5",
  noop: "6",
};

/** The separator of the packets of a polling payload (Engine.IO v4). */
const SEPARATOR = "\x1e";

/** Base64 of `bytes`. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * One packet of a polling payload: its type digit and text, or `b` and the base64 of its
 * binary data. (engine.io-client's browser build turns binary data into base64 with a
 * `FileReader`, which workerd does not have.)
 */
function encodeForPolling({ type, data }: EnginePacket): string | Promise<string> {
  if (data instanceof Blob) return data.arrayBuffer().then((b) => `b${base64(new Uint8Array(b))}`);
  if (data instanceof ArrayBuffer) return `b${base64(new Uint8Array(data))}`;
  if (ArrayBuffer.isView(data)) {
    return `b${base64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))}`;
  }
  return `${PACKET_TYPES[type] ?? ""}${typeof data === "string" ? data : ""}`;
}

/** HTTP long-polling whose requests go to `target.fetch`. */
function pollingTransport(target: RequestTarget): typeof FetchTransport {
  return class WorkerPolling extends FetchTransport {
    override write(packets: EnginePacket[]): void {
      this.writable = false;
      const drained = (): void => {
        this.writable = true;
        this.emitReserved("drain");
      };
      // Encoded at once: the client adds to the same array while a payload is on its way.
      const encoded = packets.map(encodeForPolling);
      if (encoded.every((packet): packet is string => typeof packet === "string")) {
        this.doWrite(encoded.join(SEPARATOR), drained);
        return;
      }
      Promise.all(encoded).then(
        (texts) => this.doWrite(texts.join(SEPARATOR), drained),
        (error: unknown) => this.onError("fetch write error", error),
      );
    }

    override doPoll(): void {
      this.#request(undefined).then(
        async (response) => {
          if (!response.ok) {
            await response.body?.cancel();
            this.onError("fetch read error", response.status, response);
            return;
          }
          this.onData(await response.text());
        },
        (error: unknown) => this.onError("fetch read error", error),
      );
    }

    override doWrite(data: string, callback: () => void): void {
      this.#request(data).then(
        async (response) => {
          // The answer ("ok") is not needed, but a body left unread holds the request.
          await response.body?.cancel();
          if (!response.ok) {
            this.onError("fetch write error", response.status, response);
            return;
          }
          callback();
        },
        (error: unknown) => this.onError("fetch write error", error),
      );
    }

    #request(body: string | undefined): Promise<Response> {
      const headers = new Headers(this.opts.extraHeaders);
      if (body !== undefined) headers.set("content-type", "text/plain;charset=UTF-8");
      return target.fetch(
        new Request(this.uri(), { method: body === undefined ? "GET" : "POST", headers, body }),
      );
    }
  };
}

/** The WebSocket transport, over a WebSocket that `target.fetch` hands out. */
function webSocketTransport(target: RequestTarget): typeof WebSocketTransport {
  return class WorkerWebSocket extends WebSocketTransport {
    override createSocket(
      uri: string,
      protocols: string | string[] | undefined,
      _opts: Record<string, unknown>,
    ): FetchedWebSocket {
      return new FetchedWebSocket(target, uri, protocols, this.opts.extraHeaders);
    }
  };
}

/** What the `close` event of a WebSocket tells. */
interface CloseDetails {
  code: number;
  reason: string;
  wasClean: boolean;
}

/**
 * The part of the browser's `WebSocket` that engine.io-client's WebSocket transport
 * uses (`onopen`, `onmessage`, `onclose`, `onerror`, `send`, `close`, `binaryType`), on
 * the client end of a WebSocket obtained from `target.fetch`. Like a browser's, it opens
 * asynchronously, and a refused or failed request is an `error` followed by a `close`
 * with code 1006.
 */
class FetchedWebSocket {
  /** The type of binary messages: engine.io-client sets it, before the socket opens. */
  binaryType: "arraybuffer" | "blob" = "arraybuffer";
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null = null;
  onclose: ((event: CloseDetails) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  #ws: WebSocket | null = null;
  #closed = false;

  constructor(
    target: RequestTarget,
    uri: string,
    protocols: string | string[] | undefined,
    extraHeaders: Record<string, string> | undefined,
  ) {
    const headers = new Headers(extraHeaders);
    headers.set("Upgrade", "websocket");
    if (protocols !== undefined && protocols.length > 0) {
      headers.set("Sec-WebSocket-Protocol", [protocols].flat().join(", "));
    }
    const url = uri.replace(/^ws(s?):/, "http$1:");
    // Deferred like a browser's: the transport sets its handlers after creating the socket.
    Promise.resolve()
      .then(() => target.fetch(new Request(url, { headers })))
      .then((response) => this.#opened(response))
      .catch((error: unknown) => this.#failed(error));
  }

  async #opened(response: Response): Promise<void> {
    const ws = response.webSocket;
    if (response.status !== 101 || !ws) {
      await response.body?.cancel();
      this.#failed(new Error(`the WebSocket request was answered with HTTP ${response.status}`));
      return;
    }
    ws.accept();
    // workerd's own default is "blob" (the standard's), which the client cannot decode.
    ws.binaryType = this.binaryType;
    if (this.#closed) {
      ws.close(1000);
      return;
    }
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      this.onmessage?.({ data: event.data });
    });
    ws.addEventListener("close", (event) => {
      // Completes the closing handshake the server started (a no-op when it is done).
      try {
        ws.close(event.code === 1005 ? 1000 : event.code, event.reason);
      } catch {
        // already closed
      }
      this.#ended({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    });
    ws.addEventListener("error", (event) => {
      this.onerror?.(event);
    });
    this.onopen?.();
  }

  #failed(error: unknown): void {
    if (this.#closed) return;
    this.onerror?.(error);
    this.#ended({ code: 1006, reason: "", wasClean: false });
  }

  #ended(details: CloseDetails): void {
    if (this.#closed && this.#ws === null) return;
    this.#closed = true;
    this.#ws = null;
    this.onclose?.(details);
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.#ws) throw new Error("the WebSocket is not open");
    this.#ws.send(data);
  }

  close(code = 1000, reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const ws = this.#ws;
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
  }
}
