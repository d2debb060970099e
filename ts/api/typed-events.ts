/**
 * Type-level helpers that let an app describe its events once and have `on`, `emit`,
 * acknowledgements and broadcasts checked against that description.
 *
 * An events map is an interface from event name to the signature of a listener:
 *
 * ```ts
 * interface ServerToClientEvents {
 *   hello: (name: string) => void;
 *   // the last parameter is the acknowledgement the client answers with
 *   ask: (question: string, answer: (reply: number) => void) => void;
 * }
 * ```
 */

// biome-ignore-all lint/suspicious/noExplicitAny: listener signatures are user-defined

/** A map from event name to listener signature. */
export interface EventsMap {
  [event: string]: any;
}

/** The map used when the app gives none: every name, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/** The event names of a map. */
export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

/** The arguments of event `Ev` of a map, as a tuple. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** `true` when `T` is `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** A function of any signature. */
type AnyFunction = (...args: any[]) => any;

/** The last element of a tuple (the element type for a plain array). */
export type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L]
  ? L
  : T extends readonly [infer Only]
    ? Only
    : T extends readonly (infer E)[]
      ? E
      : never;

/** A tuple without its last element (`any[]` when that cannot be told). */
export type AllButLast<T extends readonly unknown[]> = T extends readonly [...infer Head, unknown]
  ? Head
  : any[];

/** The arguments of a function type (`never` for anything else). */
type ArgsOf<F> = F extends (...args: infer P) => any ? P : never;

/**
 * The value an acknowledgement delivers: its first argument, or its second when the
 * first is the timeout error.
 */
export type FirstNonErrorArg<F> = F extends (...args: infer P) => any
  ? P extends [infer First, ...infer Rest]
    ? First extends Error
      ? Rest extends [infer Second, ...unknown[]]
        ? Second
        : Rest[0]
      : First
    : P[0]
  : any;

/** Whether event `Ev` of `Map` ends with an acknowledgement that carries a value. */
type AckCarriesValue<Map extends EventsMap, Ev extends EventNames<Map>> =
  Last<ArgsOf<Map[Ev]>> extends AnyFunction
    ? FirstNonErrorArg<Last<ArgsOf<Map[Ev]>>> extends void
      ? false
      : true
    : false;

/** Whether event `Ev` of `Map` is sent without an acknowledgement. */
type NoAck<Map extends EventsMap, Ev extends EventNames<Map>> =
  ArgsOf<Map[Ev]> extends never[] ? true : Last<ArgsOf<Map[Ev]>> extends AnyFunction ? false : true;

/** `true` when the listener or its last argument is `any` (an untyped event). */
type Untyped<Map extends EventsMap, Ev extends EventNames<Map>> =
  IsAny<Map[Ev]> extends true ? true : IsAny<Last<ArgsOf<Map[Ev]>>>;

/** Names of the events whose last argument is an acknowledgement carrying a value. */
export type EventNamesWithAck<Map extends EventsMap> = {
  [Ev in EventNames<Map>]: Untyped<Map, Ev> extends true
    ? Ev
    : AckCarriesValue<Map, Ev> extends true
      ? Ev
      : never;
}[EventNames<Map>];

/** Names of the events that take no acknowledgement. */
export type EventNamesWithoutAck<Map extends EventsMap> = {
  [Ev in EventNames<Map>]: Untyped<Map, Ev> extends true
    ? Ev
    : NoAck<Map, Ev> extends true
      ? Ev
      : never;
}[EventNames<Map>];

/**
 * Names of the events whose acknowledgement takes an error first (what `timeout()`
 * produces): the ones `emitWithAck` of a broadcast accepts.
 */
export type EventNamesWithError<Map extends EventsMap> = {
  [Ev in EventNamesWithAck<Map>]: Untyped<Map, Ev> extends true
    ? Ev
    : ArgsOf<Last<ArgsOf<Map[Ev]>>>[0] extends Error
      ? Ev
      : never;
}[EventNamesWithAck<Map>];

/** The events of a map that take no acknowledgement. */
export type RemoveAcknowledgements<Map extends EventsMap> = {
  [Ev in EventNamesWithoutAck<Map>]: Map[Ev];
};

/** Puts a timeout error in front of every acknowledgement in an argument tuple. */
type WithTimeoutError<Args extends unknown[]> = {
  [I in keyof Args]: Args[I] extends (...ackArgs: infer A) => infer R
    ? A[0] extends Error
      ? Args[I]
      : (err: Error, ...ackArgs: A) => R
    : Args[I];
};

/** Turns every acknowledgement of an argument tuple into one that gets an array per value. */
type WithManyResponses<Args extends unknown[]> = {
  [I in keyof Args]: Args[I] extends (...ackArgs: infer A) => infer R
    ? ManyResponses<A, R>
    : Args[I];
};

/** An acknowledgement that receives the first value of every recipient, as an array. */
type ManyResponses<A extends unknown[], R> = A extends []
  ? () => R
  : A extends [Error]
    ? (err: Error) => R
    : A extends [Error, infer Value, ...unknown[]]
      ? (err: Error, responses: Value[]) => R
      : A extends [infer Value, ...unknown[]]
        ? (responses: Value[]) => R
        : (...ackArgs: A) => R;

/**
 * The events of a map with a timeout error added in front of each acknowledgement
 * (what `socket.timeout(ms)` sends with).
 */
export type DecorateAcknowledgements<Map> = {
  [Ev in keyof Map]: Map[Ev] extends (...args: infer P) => infer R
    ? (...args: WithTimeoutError<P>) => R
    : Map[Ev];
};

/**
 * The events of a map with each acknowledgement receiving one value per recipient
 * (what a broadcast sends with).
 */
export type DecorateAcknowledgementsWithMultipleResponses<Map> = {
  [Ev in keyof Map]: Map[Ev] extends (...args: infer P) => infer R
    ? (...args: WithManyResponses<P>) => R
    : Map[Ev];
};

/** Both decorations: a timeout error, then one value per recipient. */
export type DecorateAcknowledgementsWithTimeoutAndMultipleResponses<Map> = {
  [Ev in keyof Map]: Map[Ev] extends (...args: infer P) => infer R
    ? (...args: WithManyResponses<WithTimeoutError<P>>) => R
    : Map[Ev];
};

/** Event names that are reserved by the library or defined by the app. */
export type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> =
  | EventNames<Reserved>
  | EventNames<User>;

/**
 * The listener type of event `Ev`: the reserved one when `Ev` is reserved, else the
 * app's; an untyped listener when neither knows the name.
 */
export type ReservedOrUserListener<
  Reserved extends EventsMap,
  User extends EventsMap,
  Ev extends ReservedOrUserEventNames<Reserved, User>,
> = UntypedIfNever<
  Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : never
>;

/** An untyped listener when `T` is `never`. */
type UntypedIfNever<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;
