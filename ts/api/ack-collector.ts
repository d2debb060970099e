/**
 * `AckCollector`: gathers the acknowledgements of one broadcast, from the sockets of
 * this shard and from those of the other shards, and calls back once.
 */
import type { AckReceiver } from "./cluster.js";
import { type Listener, safeCall } from "./emitter.js";
import type { Socket } from "./socket.js";

/** How an error of a broadcast's acknowledgement callback is reported. */
const BROADCAST_ACK = "the acknowledgement callback of a broadcast";

// biome-ignore lint/suspicious/noExplicitAny: the collector serves sockets of any event maps
type AnySocket = Socket<any, any, any, any>;

/** Something that waits for the answer of `socket` to ack `id`. */
export interface AckExpecter {
  /** Waits for the answer of `socket` to ack `id`. */
  expect(socket: AnySocket, id: number): void;
}

/**
 * The acknowledgements of one broadcast. The callback gets `(null, responses)` once
 * every recipient answered (or, without a timeout, left), or `(error, responses so
 * far)` when the timeout passes or a shard fails.
 */
export class AckCollector implements AckExpecter {
  readonly #ack: Listener;
  readonly #timeout: number | undefined;
  readonly #responses: unknown[] = [];
  readonly #waiting: [AnySocket, number][] = [];
  #expected = 0;
  /** Shards whose recipient count is not known yet. */
  #pending = 0;
  #started = false;
  #done = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ack: Listener, timeout: number | undefined) {
    this.#ack = ack;
    this.#timeout = timeout;
  }

  /** Waits for the answer of `socket` of this shard to ack `id`. */
  expect(socket: AnySocket, id: number): void {
    this.#expected++;
    this.#waiting.push([socket, id]);
    socket._expectAck(id, {
      answer: (args) => this.#answer(args[0]),
      // Without a timeout, a recipient that leaves is no longer waited for; with one,
      // its silence ends in the timeout error, as in Socket.IO.
      gone: this.#timeout === undefined ? () => this.#gone() : undefined,
    });
  }

  /** Where another shard sends the answers of its sockets. */
  receiver(): AckReceiver {
    return {
      answer: (response) => this.#answer(response),
      gone: () => this.#gone(),
    };
  }

  /**
   * Waits for another shard to say how many of its sockets got the packet (`count`
   * resolves with it); a shard that fails ends the collection with its error.
   */
  expectShard(index: number, count: Promise<unknown>): void {
    this.#pending++;
    count.then(
      (n) => {
        this.#pending--;
        this.#expected += typeof n === "number" ? n : 0;
        this.#check();
      },
      (error: unknown) => {
        this.#pending--;
        this.#finish(new Error(`shard ${index} failed: ${String(error)}`));
      },
    );
  }

  /** Every recipient of this shard is known: start the clock. */
  start(): void {
    this.#started = true;
    if (this.#timeout !== undefined) {
      this.#timer = setTimeout(
        () => this.#finish(new Error("operation has timed out")),
        this.#timeout,
      );
    }
    // Called back in a later microtask even with no recipient, never within `emit`.
    queueMicrotask(() => this.#check());
  }

  #answer(response: unknown): void {
    if (this.#done) return;
    this.#responses.push(response);
    this.#check();
  }

  #gone(): void {
    this.#expected--;
    this.#check();
  }

  #check(): void {
    if (this.#done || !this.#started || this.#pending > 0) return;
    if (this.#responses.length < this.#expected) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    safeCall(this.#ack, undefined, [null, this.#responses], BROADCAST_ACK);
  }

  #finish(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const [socket, id] of this.#waiting) socket._forgetAck(id);
    safeCall(this.#ack, undefined, [error, this.#responses], BROADCAST_ACK);
  }
}

/**
 * The acknowledgements a shard's sockets owe to a broadcast of another shard: each
 * answer is passed on to `receiver` (a stub of the origin's collector) as it comes.
 * The stub is let go once every recipient answered or left, or the timeout passed.
 */
export class ForwardedAcks implements AckExpecter {
  readonly #receiver: AckReceiver;
  readonly #timeout: number | undefined;
  readonly #waiting: [AnySocket, number][] = [];
  #outstanding = 0;
  #sealed = false;
  #released = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(receiver: AckReceiver, timeout: number | undefined) {
    this.#receiver = keep(receiver);
    this.#timeout = timeout;
  }

  expect(socket: AnySocket, id: number): void {
    this.#outstanding++;
    this.#waiting.push([socket, id]);
    socket._expectAck(id, {
      answer: (args) => {
        this.#call(() => this.#receiver.answer(args[0]));
        this.#settle();
      },
      gone:
        this.#timeout === undefined
          ? () => {
              this.#call(() => this.#receiver.gone());
              this.#settle();
            }
          : undefined,
    });
  }

  /** Every recipient is known. */
  seal(): void {
    this.#sealed = true;
    if (this.#outstanding === 0) {
      this.#release();
      return;
    }
    if (this.#timeout !== undefined) {
      this.#timer = setTimeout(() => {
        for (const [socket, id] of this.#waiting) socket._forgetAck(id);
        this.#release();
      }, this.#timeout);
    }
  }

  #settle(): void {
    this.#outstanding--;
    if (this.#sealed && this.#outstanding === 0) this.#release();
  }

  #call(fn: () => unknown): void {
    if (this.#released) return;
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(() => {});
    } catch {
      // The origin is gone: its collector no longer waits.
    }
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const dispose = (this.#receiver as Partial<Disposable>)[Symbol.dispose];
    if (typeof dispose === "function") dispose.call(this.#receiver);
  }
}

/** A copy of an RPC stub that outlives the call it came with (the value itself otherwise). */
function keep(receiver: AckReceiver): AckReceiver {
  const dup = (receiver as { dup?: () => AckReceiver }).dup;
  return typeof dup === "function" ? dup.call(receiver) : receiver;
}
