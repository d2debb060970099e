// Types of wrangler-dev.mjs, for the TypeScript test helpers.
import type { ChildProcess } from "node:child_process";

export const ROOT: string;
export const WRANGLER_ENV: Readonly<Record<string, string>>;

export function freePort(): Promise<number>;
export function wranglerEntry(root?: string): string;
export function portOption(
  args: string[],
  defaultPort: number,
  env?: Record<string, string | undefined>,
): { port: number; args: string[] };

export interface WranglerDevOptions {
  /** The wrangler configuration (wrangler.jsonc / wrangler.toml), relative to `cwd`. */
  config: string;
  /** Directory wrangler runs in (default: the repository root). */
  cwd?: string;
  /** The Node binary that runs wrangler (default: this process's). */
  node?: string;
  /** wrangler's CLI entry (`.../wrangler/bin/wrangler.js`); default: the repository's. */
  wrangler?: string;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** The inspector's port; a free one when omitted, wrangler's default when null. */
  inspectorPort?: number | null;
  /**
   * Where the objects' storage goes: a new temporary directory removed by `stop()` when
   * omitted; a given directory is kept; null: wrangler's default (.wrangler/state).
   */
  persistTo?: string | null;
  /** false: X_LOCAL_OBSERVABILITY=false. */
  localObservability?: boolean;
  /** Variables added to this process's environment. */
  env?: Record<string, string>;
  /** More wrangler arguments. */
  args?: string[];
  /** "pipe" (default: collected, no colours) or "inherit" (this process's stdout/stderr). */
  output?: "pipe" | "inherit";
  /** Called with each chunk of output ("pipe" only). */
  onOutput?: (text: string) => void;
  /** Wait until `path` (default "/__health") answers 200 (and `body`); false: no wait. */
  ready?: false | { path?: string; body?: string; timeoutMs?: number };
}

export interface WranglerDev {
  /** Base URL, e.g. http://127.0.0.1:8787 (no trailing slash). */
  url: string;
  port: number;
  inspectorPort: number | null;
  persistTo: string | null;
  child: ChildProcess;
  /** The process group id (wrangler's pid). */
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything wrangler printed so far, its end ("pipe" only). */
  output(): string;
  /** Stops wrangler and every process it started (SIGTERM, then SIGKILL after 5 s). */
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

export function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev>;

export function runtimeSocket(
  dev: WranglerDev,
  probe?: { path?: string; body?: string },
): Promise<{ url: string; pid: number; proxyPid: number | null }>;
