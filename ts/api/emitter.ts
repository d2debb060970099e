/**
 * A small event emitter, and its typed face.
 *
 * Listeners run in registration order. A listener that throws (or returns a promise
 * that rejects) is reported with `console.error` and does not keep the others from
 * running: an app bug must never take the Durable Object down.
 */
import type {
  EventNames,
  EventParams,
  EventsMap,
  ReservedOrUserEventNames,
  ReservedOrUserListener,
} from "./typed-events.js";

// biome-ignore lint/suspicious/noExplicitAny: listeners take whatever the app sends
export type Listener = (...args: any[]) => unknown;

/** A `once` wrapper remembers the listener it stands for. */
interface OnceWrapper extends Listener {
  listener: Listener;
}

/** What a listener listened to, for error reports: a text, or a function that makes it. */
export type Where = string | (() => string);

/**
 * Calls `fn` and reports what it throws or rejects with, instead of letting it escape;
 * `where` says which listener it was (the event, the socket, the namespace).
 */
export function safeCall(fn: Listener, self: unknown, args: unknown[], where?: Where): void {
  try {
    const r = fn.apply(self, args);
    if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
      (r as Promise<unknown>).then(undefined, (e: unknown) => reportError(e, where));
    }
  } catch (e) {
    reportError(e, where);
  }
}

/** Reports an error thrown by app code, with what it was running for. */
export function reportError(e: unknown, where?: Where): void {
  const what = typeof where === "function" ? where() : where;
  console.error(`socket.io-durable: uncaught error in ${what ?? "a listener"}:`, e);
}

/**
 * The emitter behind `Server`, `Namespace` and `Socket`, typed by the events that
 * can be listened to: the app's `ListenEvents` and the library's `ReservedEvents`.
 */
export abstract class TypedEmitter<
  ListenEvents extends EventsMap,
  ReservedEvents extends EventsMap = Record<never, never>,
> {
  readonly #listeners = new Map<string | symbol, Listener[]>();

  /**
   * Adds `listener` for event `ev`.
   *
   * @returns this, for chaining
   */
  on<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const list = this.#listeners.get(ev);
    if (list) list.push(listener as Listener);
    else this.#listeners.set(ev, [listener as Listener]);
    return this;
  }

  /** Same as {@link on}. */
  addListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    return this.on(ev, listener);
  }

  /** Like {@link on}, but `listener` runs before the listeners already registered. */
  prependListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const list = this.#listeners.get(ev);
    if (list) list.unshift(listener as Listener);
    else this.#listeners.set(ev, [listener as Listener]);
    return this;
  }

  /** Like {@link once}, but `listener` runs before the listeners already registered. */
  prependOnceListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const wrapper = this.#onceWrapper(ev, listener as Listener);
    const list = this.#listeners.get(ev);
    if (list) list.unshift(wrapper);
    else this.#listeners.set(ev, [wrapper]);
    return this;
  }

  /** Adds `listener` for the next `ev` only. */
  once<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const wrapper = this.#onceWrapper(ev, listener as Listener);
    const list = this.#listeners.get(ev);
    if (list) list.push(wrapper);
    else this.#listeners.set(ev, [wrapper]);
    return this;
  }

  /**
   * Removes `listener` from event `ev` (the latest registration of it), or every
   * listener of `ev` when `listener` is omitted.
   */
  off<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener?: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    if (listener === undefined) this.#listeners.delete(ev);
    else this.#remove(ev, listener as Listener);
    return this;
  }

  /** Same as {@link off}. */
  removeListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener?: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    return this.off(ev, listener);
  }

  /** Removes every listener of `ev`, or of every event when `ev` is omitted. */
  removeAllListeners(ev?: ReservedOrUserEventNames<ReservedEvents, ListenEvents>): this {
    if (ev === undefined) this.#listeners.clear();
    else this.#listeners.delete(ev);
    return this;
  }

  /** The listeners of `ev`, in the order they run (a copy). */
  listeners<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
  ): ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>[] {
    const list = this.#listeners.get(ev) ?? [];
    return list.map((l) => (l as Partial<OnceWrapper>).listener ?? l) as ReservedOrUserListener<
      ReservedEvents,
      ListenEvents,
      Ev
    >[];
  }

  /** Number of listeners of `ev`. */
  listenerCount(ev: ReservedOrUserEventNames<ReservedEvents, ListenEvents>): number {
    return this.#listeners.get(ev)?.length ?? 0;
  }

  /** Names of the events that have listeners. */
  eventNames(): (string | symbol)[] {
    return [...this.#listeners.keys()];
  }

  /** Calls the listeners of a reserved event. */
  protected emitReserved<Ev extends EventNames<ReservedEvents>>(
    ev: Ev,
    ...args: EventParams<ReservedEvents, Ev>
  ): boolean {
    return this.emitUntyped(ev, args);
  }

  /** Calls the listeners of `ev` with `args`; whether there was any. */
  protected emitUntyped(ev: string | symbol, args: unknown[]): boolean {
    const list = this.#listeners.get(ev);
    if (!list || list.length === 0) return false;
    const where = () => this.listenerOf(ev);
    if (list.length === 1) {
      safeCall(list[0] as Listener, this, args, where);
      return true;
    }
    for (const fn of list.slice()) safeCall(fn, this, args, where);
    return true;
  }

  /** Names a listener of `ev` in error reports (the socket and namespace add theirs). */
  protected listenerOf(ev: string | symbol): string {
    return `a listener of ${eventName(ev)}`;
  }

  /** A listener that removes itself, then calls `fn`. */
  #onceWrapper(ev: string | symbol, fn: Listener): OnceWrapper {
    const remove = (w: Listener) => this.#remove(ev, w);
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      remove(wrapper);
      return fn.apply(this, args);
    } as OnceWrapper;
    wrapper.listener = fn;
    return wrapper;
  }

  #remove(ev: string | symbol, listener: Listener): void {
    const list = this.#listeners.get(ev);
    if (!list) return;
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i] as Listener;
      if (l === listener || (l as Partial<OnceWrapper>).listener === listener) {
        list.splice(i, 1);
        if (list.length === 0) this.#listeners.delete(ev);
        return;
      }
    }
  }
}

/** `event "name"`, for error reports. */
export function eventName(ev: string | symbol): string {
  return `event ${typeof ev === "symbol" ? String(ev) : JSON.stringify(ev)}`;
}
