// Runs a command to completion in its own process group, with a time limit.
import { spawn } from "node:child_process";

export interface CommandResult {
  /** Exit code (null when the command was killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Kills the command's process group after this many milliseconds (default 5 min). */
  timeoutMs?: number;
}

/**
 * The environment of this process without the `npm_*` variables that a surrounding
 * `npm test` sets: an npm started from a test must not pick up the outer project's
 * configuration (`npm_config_local_prefix` would make it install into the repository).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  return {
    ...env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    ...extra,
  };
}

/** Runs `command args` and collects its output; never throws for a non-zero exit. */
export function runCommand(
  command: string,
  args: string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      stderr += `\n[killed after ${options.timeoutMs ?? 300_000} ms]`;
    }, options.timeoutMs ?? 300_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like {@link runCommand}, but throws with the command's output when it fails. */
export async function runChecked(
  command: string,
  args: string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit code ${result.code}) in ${options.cwd}\n` +
        `--- stdout ---\n${result.stdout.slice(-8000)}\n--- stderr ---\n${result.stderr.slice(-8000)}`,
    );
  }
  return result;
}
