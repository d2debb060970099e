// What the test clients of both socket.io-client generations share: every event recorded
// from the socket's creation on, so that tests await them in order without racing the
// registration of a listener, and emits that resolve with their acknowledgement.
import { withTimeout } from "./util.js";

/** One event a client received (or emitted itself: connect, disconnect, ...). */
export interface Entry {
  event: string;
  args: unknown[];
}

interface Waiter {
  match: (e: Entry) => boolean;
  resolve: (e: Entry) => void;
}

/** The part of a socket.io-client socket (any version) the recorder uses. */
export interface EmittingSocket {
  id?: string | undefined;
  emit(event: string, ...args: unknown[]): unknown;
}

/**
 * A client socket whose events are recorded: `record` is called with each one (by the
 * subclass, which knows how to listen to its client's version); `next` and its kin
 * consume them in order, `history` keeps them all.
 */
export abstract class Recorded<S extends EmittingSocket> {
  /** Every event received, in order, never consumed. */
  readonly history: Entry[] = [];
  /** Events not consumed yet. */
  protected readonly log: Entry[] = [];
  protected readonly waiters: Waiter[] = [];

  constructor(
    readonly socket: S,
    /** Namespace name, for messages. */
    readonly nsp = "/",
    /** How the client is named in messages. */
    protected readonly label = "",
  ) {}

  /** Records an event: it resolves the first waiter it matches, or waits in the log. */
  protected record(entry: Entry): void {
    this.history.push(entry);
    const index = this.waiters.findIndex((w) => w.match(entry));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      waiter?.resolve(entry);
    } else {
      this.log.push(entry);
    }
  }

  /** The next (not yet consumed) event that `match` accepts; `what` names it in errors. */
  protected nextWhere(match: (e: Entry) => boolean, what: string, timeoutMs: number) {
    const index = this.log.findIndex(match);
    if (index >= 0) {
      const [entry] = this.log.splice(index, 1);
      if (entry) return Promise.resolve(entry);
    }
    let waiter: Waiter | undefined;
    const promise = new Promise<Entry>((resolve) => {
      waiter = { match, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(promise, timeoutMs, `waiting for ${what} on ${this.nsp}${this.label}`).catch(
      (error: unknown) => {
        const i = waiter ? this.waiters.indexOf(waiter) : -1;
        if (i >= 0) this.waiters.splice(i, 1);
        throw error;
      },
    );
  }

  /**
   * Resolves with the arguments of the next (not yet consumed) `event`, optionally the
   * first one whose arguments satisfy `filter`.
   */
  async next(
    event: string,
    timeoutMs = 5_000,
    filter: (args: unknown[]) => boolean = () => true,
  ): Promise<unknown[]> {
    const match = (e: Entry): boolean => e.event === event && filter(e.args);
    return (await this.nextWhere(match, `"${event}"`, timeoutMs)).args;
  }

  /** First argument of the next `event`. */
  async next1<T = unknown>(event: string, timeoutMs = 5_000): Promise<T> {
    return (await this.next(event, timeoutMs))[0] as T;
  }

  /** How many `event` were received so far (consumed or not). */
  count(event: string, filter: (args: unknown[]) => boolean = () => true): number {
    return this.history.filter((e) => e.event === event && filter(e.args)).length;
  }

  /** Emits and resolves with the ack's arguments. */
  request(event: string, ...args: unknown[]): Promise<unknown[]> {
    return withTimeout(
      new Promise<unknown[]>((resolve) => {
        this.socket.emit(event, ...args, (...answer: unknown[]) => resolve(answer));
      }),
      5_000,
      `ack of "${event}" on ${this.nsp}${this.label}`,
    );
  }

  /** Emits and resolves with the ack's first argument. */
  async call<T = unknown>(event: string, ...args: unknown[]): Promise<T> {
    return (await this.request(event, ...args))[0] as T;
  }

  /** The socket's id (throws when not connected). */
  get id(): string {
    const id = this.socket.id;
    if (!id) throw new Error(`socket${this.label} has no id (not connected)`);
    return id;
  }
}
