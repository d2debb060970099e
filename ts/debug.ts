/**
 * Debug logs, switched on by name as with the `DEBUG` variable of the `debug` package
 * (`DEBUG=socket.io*`): a comma- or space-separated list of names, where `*` matches
 * anything and a leading `-` leaves names out. The names of this package:
 *
 * - `socket.io-durable:engine`: sessions opened and closed (with the reason), upgrades,
 *   requests refused with their Engine.IO error;
 * - `socket.io-durable:socket`: sockets connected and disconnected (with the reason),
 *   connections refused by a middleware.
 *
 * A log that is off is `undefined`, so that `log?.(text)` costs one check and does
 * not even build its text.
 */

/** A debug log: prints `text` under its name. */
export type DebugLog = (text: string) => void;

/** The debug logs of one object (each `undefined` when off). */
export interface DebugLogs {
  engine?: DebugLog;
  socket?: DebugLog;
}

/** Whether the name `name` is switched on by `pattern` (a `DEBUG` value). */
export function debugEnabled(pattern: string, name: string): boolean {
  let on = false;
  for (const item of pattern.split(/[\s,]+/)) {
    if (item === "") continue;
    const exclude = item.startsWith("-");
    const glob = exclude ? item.slice(1) : item;
    if (!globMatches(glob, name)) continue;
    if (exclude) return false;
    on = true;
  }
  return on;
}

function globMatches(glob: string, name: string): boolean {
  const parts = glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(name);
}

/** The debug logs that `pattern` (the option, else `env.DEBUG`) switches on. */
export function debugLogs(option: string | undefined, env: unknown): DebugLogs {
  const fromEnv =
    env !== null && typeof env === "object" ? (env as { DEBUG?: unknown }).DEBUG : undefined;
  const pattern = option ?? (typeof fromEnv === "string" ? fromEnv : undefined);
  if (!pattern) return {};
  const log = (name: string): DebugLog | undefined =>
    debugEnabled(pattern, name) ? (text) => console.log(`${name} ${text}`) : undefined;
  return { engine: log("socket.io-durable:engine"), socket: log("socket.io-durable:socket") };
}
