// A raw WebSocket client (npm `ws`) that queues incoming frames so tests can
// read them one by one with a timeout.
import WebSocket, { type RawData } from "ws";
import { deferred, withTimeout } from "./util.js";

/** A received frame: text frames as string, binary frames as Buffer. */
export type Frame = string | Buffer;

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface WsClientOptions {
  /** Answer every server ping (`2`) with a pong (`3`) and keep pings out of the queue. */
  autoPong?: boolean;
  /** Extra request headers for the opening handshake. */
  headers?: Record<string, string>;
  /** How long to wait for the connection to open (default 5 s). */
  openTimeoutMs?: number;
  /** Maximum incoming message size accepted by the client. */
  maxPayload?: number;
}

/** Why a WebSocket connection could not be opened. */
export class WsRefused extends Error {
  constructor(
    message: string,
    /** HTTP status of a non-101 answer, if the server sent one. */
    readonly status?: number,
    /** Body of that answer. */
    readonly body?: string,
  ) {
    super(message);
  }
}

function toFrame(data: RawData, isBinary: boolean): Frame {
  let buffer: Buffer;
  if (Buffer.isBuffer(data)) buffer = data;
  else if (Array.isArray(data)) buffer = Buffer.concat(data);
  else buffer = Buffer.from(data);
  return isBinary ? buffer : buffer.toString("utf8");
}

export function describeFrame(frame: Frame): string {
  return typeof frame === "string"
    ? JSON.stringify(frame.length > 200 ? `${frame.slice(0, 200)}…` : frame)
    : `<binary ${frame.toString("hex").slice(0, 64)}>`;
}

export class WsClient {
  readonly ws: WebSocket;
  /** Frames received and not yet read with next(). */
  private readonly queue: Frame[] = [];
  private readonly waiters: Array<(frame: Frame | undefined) => void> = [];
  private readonly closeDeferred = deferred<CloseInfo>();
  private closeInfo: CloseInfo | undefined;
  /** Number of pings answered automatically (autoPong). */
  pingsAnswered = 0;
  /** Every frame received, in order, including auto-answered pings. */
  readonly received: Frame[] = [];

  private constructor(
    ws: WebSocket,
    private readonly autoPong: boolean,
  ) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      const frame = toFrame(data, isBinary);
      this.received.push(frame);
      if (this.autoPong && frame === "2") {
        this.pingsAnswered += 1;
        if (ws.readyState === WebSocket.OPEN) ws.send("3");
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.queue.push(frame);
    });
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.closeDeferred.resolve(this.closeInfo);
      for (const waiter of this.waiters.splice(0)) waiter(undefined);
    });
    ws.on("error", () => {
      // Errors after opening are followed by "close"; nothing else to do.
    });
  }

  /** Opens a connection; rejects with WsRefused if the server does not switch protocols. */
  static connect(url: string, options: WsClientOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url, {
      headers: options.headers,
      maxPayload: options.maxPayload ?? 100 * 1024 * 1024,
      perMessageDeflate: false,
    });
    // Attach the queueing listeners before any frame can arrive.
    const client = new WsClient(ws, options.autoPong ?? false);
    const opened = new Promise<WsClient>((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (req, res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        const finish = (): void => {
          reject(
            new WsRefused(
              `WebSocket handshake refused with HTTP ${res.statusCode}`,
              res.statusCode,
              Buffer.concat(chunks).toString("utf8"),
            ),
          );
          req.destroy();
        };
        res.once("end", finish);
        res.once("error", finish);
        res.once("close", finish);
      });
      ws.once("error", (error) =>
        reject(new WsRefused(`WebSocket error before open: ${error.message}`)),
      );
      ws.once("close", (code) =>
        reject(new WsRefused(`WebSocket closed before open (code ${code})`)),
      );
    });
    return withTimeout(opened, options.openTimeoutMs ?? 5_000, `opening ${url}`).catch(
      (error: unknown) => {
        ws.terminate();
        throw error;
      },
    );
  }

  /** Like connect(), but resolves with the refusal instead of rejecting. */
  static async tryConnect(
    url: string,
    options: WsClientOptions = {},
  ): Promise<WsClient | WsRefused> {
    try {
      return await WsClient.connect(url, options);
    } catch (error) {
      if (error instanceof WsRefused) return error;
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get closed(): Promise<CloseInfo> {
    return this.closeDeferred.promise;
  }

  /** The close code and reason, once the connection is closed. */
  get closeState(): CloseInfo | undefined {
    return this.closeInfo;
  }

  send(data: string | Buffer | Uint8Array): void {
    this.ws.send(data);
  }

  /** Next queued frame; rejects on timeout or if the connection closes first. */
  next(timeoutMs = 3_000): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closeInfo) {
      return Promise.reject(
        new Error(`connection closed (code ${this.closeInfo.code}) with no frame left`),
      );
    }
    let waiter: ((frame: Frame | undefined) => void) | undefined;
    const frame = new Promise<Frame>((resolve, reject) => {
      waiter = (value) => {
        if (value === undefined) {
          reject(
            new Error(`connection closed (code ${this.closeInfo?.code}) while waiting for a frame`),
          );
        } else {
          resolve(value);
        }
      };
      this.waiters.push(waiter);
    });
    return withTimeout(frame, timeoutMs, "waiting for a WebSocket frame").catch(
      (error: unknown) => {
        const index = waiter ? this.waiters.indexOf(waiter) : -1;
        if (index >= 0) this.waiters.splice(index, 1);
        throw error;
      },
    );
  }

  /** Next frame, which must be a text frame. */
  async nextText(timeoutMs = 3_000): Promise<string> {
    const frame = await this.next(timeoutMs);
    if (typeof frame !== "string")
      throw new Error(`expected a text frame, got ${describeFrame(frame)}`);
    return frame;
  }

  /** Next frame, which must be a binary frame. */
  async nextBinary(timeoutMs = 3_000): Promise<Buffer> {
    const frame = await this.next(timeoutMs);
    if (typeof frame === "string")
      throw new Error(`expected a binary frame, got ${describeFrame(frame)}`);
    return frame;
  }

  /** Reads the open packet (`0{...}`) and returns its JSON payload. */
  async nextOpen(timeoutMs = 3_000): Promise<Record<string, unknown>> {
    const text = await this.nextText(timeoutMs);
    if (!text.startsWith("0"))
      throw new Error(`expected an open packet, got ${describeFrame(text)}`);
    return JSON.parse(text.slice(1)) as Record<string, unknown>;
  }

  /** Frames still queued, without waiting. */
  drain(): Frame[] {
    return this.queue.splice(0);
  }

  /** Waits for the connection to be closed by the server. */
  waitClosed(timeoutMs = 3_000): Promise<CloseInfo> {
    return withTimeout(this.closed, timeoutMs, "waiting for the WebSocket to close");
  }

  /**
   * Waits until the server has started closing the connection: its close
   * frame was received (readyState CLOSING) or the connection is gone. The
   * TCP connection itself may end later; see waitClosed() for that.
   */
  async waitClosing(timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      if (Date.now() >= deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for the server to close the WebSocket`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Closes the connection and waits (bounded) for the close handshake. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      try {
        this.ws.close(1000);
      } catch {
        this.ws.terminate();
      }
    }
    try {
      await withTimeout(this.closed, 2_000, "closing the WebSocket");
    } catch {
      this.ws.terminate();
    }
  }
}
