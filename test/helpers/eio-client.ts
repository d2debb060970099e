// Wrapper around the official engine.io-client, queueing messages and
// recording heartbeats and transport changes.
import { Socket, type SocketOptions } from "engine.io-client";
import { baseUrl, type Mount } from "./eio.js";
import { deferred, withTimeout } from "./util.js";

export type ClientMessage = string | Buffer | ArrayBuffer;

export class EioClient {
  readonly socket: Socket;
  private readonly queue: ClientMessage[] = [];
  private readonly waiters: Array<(message: ClientMessage | undefined) => void> = [];
  private readonly opened = deferred<void>();
  private readonly closedDeferred = deferred<{ reason: string }>();
  private readonly upgraded = deferred<string>();
  closedReason: string | undefined;
  pings = 0;
  readonly errors: string[] = [];

  constructor(mount: Mount, options: Partial<SocketOptions> = {}) {
    this.socket = new Socket(baseUrl(), { path: `/${mount}/`, ...options });
    this.socket.on("open", () => this.opened.resolve());
    this.socket.on("message", (data) => {
      const message = data as ClientMessage;
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.queue.push(message);
    });
    this.socket.on("ping", () => {
      this.pings += 1;
    });
    this.socket.on("upgrade", (transport) => this.upgraded.resolve(transport.name));
    this.socket.on("error", (error) => {
      this.errors.push(String(error));
      this.opened.reject(new Error(`engine.io-client error: ${String(error)}`));
    });
    this.socket.on("close", (reason) => {
      this.closedReason = reason;
      this.opened.reject(new Error(`engine.io-client closed before opening: ${reason}`));
      this.closedDeferred.resolve({ reason });
      for (const waiter of this.waiters.splice(0)) waiter(undefined);
    });
    // Avoid unhandled rejections when nobody awaits these.
    this.opened.promise.catch(() => {});
  }

  /** Creates a client and waits for the "open" event. */
  static async connect(
    mount: Mount,
    options: Partial<SocketOptions> = {},
    timeoutMs = 5_000,
  ): Promise<EioClient> {
    const client = new EioClient(mount, options);
    try {
      await withTimeout(client.opened.promise, timeoutMs, `engine.io-client opening /${mount}/`);
    } catch (error) {
      client.socket.close();
      throw error;
    }
    return client;
  }

  get transportName(): string {
    return this.socket.transport.name;
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  /** The session id given by the server. */
  get sid(): string {
    return (this.socket as unknown as { id: string }).id;
  }

  send(message: string | Buffer | ArrayBuffer | Uint8Array): void {
    this.socket.send(message as unknown as string);
  }

  /** Next message; rejects on timeout or if the socket closes first. */
  next(timeoutMs = 3_000): Promise<ClientMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closedReason !== undefined)
      return Promise.reject(new Error(`client closed (${this.closedReason})`));
    let waiter: ((m: ClientMessage | undefined) => void) | undefined;
    const message = new Promise<ClientMessage>((resolve, reject) => {
      waiter = (m) =>
        m === undefined ? reject(new Error(`client closed (${this.closedReason})`)) : resolve(m);
      this.waiters.push(waiter);
    });
    return withTimeout(message, timeoutMs, "waiting for an engine.io-client message").catch(
      (error: unknown) => {
        const index = waiter ? this.waiters.indexOf(waiter) : -1;
        if (index >= 0) this.waiters.splice(index, 1);
        throw error;
      },
    );
  }

  /** Waits for the "upgrade" event and returns the new transport's name. */
  waitUpgrade(timeoutMs = 5_000): Promise<string> {
    return withTimeout(this.upgraded.promise, timeoutMs, "waiting for the upgrade event");
  }

  /** Waits until at least `count` pings were received; fails if the socket closes. */
  async waitPings(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pings < count) {
      if (this.closedReason !== undefined)
        throw new Error(`client closed (${this.closedReason}) after ${this.pings} pings`);
      if (Date.now() > deadline)
        throw new Error(`only ${this.pings} of ${count} pings within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  waitClosed(timeoutMs = 3_000): Promise<{ reason: string }> {
    return withTimeout(this.closedDeferred.promise, timeoutMs, "waiting for the client to close");
  }

  close(): void {
    this.socket.close();
  }
}

/** Bytes of a message received by engine.io-client (Buffer in Node, or ArrayBuffer). */
export function bytesOf(message: ClientMessage): Buffer {
  if (typeof message === "string")
    throw new Error(
      `expected binary data, got the string ${JSON.stringify(message.slice(0, 100))}`,
    );
  return Buffer.isBuffer(message) ? message : Buffer.from(message);
}
