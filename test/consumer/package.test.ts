// The npm package as users get it: `npm pack`, installed into a fresh Workers app that
// already has its own routes, wired up exactly as the README's quick start says, served
// by that app's own `wrangler dev` and checked with the real socket.io-client. Then
// `wrangler deploy --dry-run` measures what the app would upload.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import type { Socket as ClientSocket, io as ioFunction } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, runChecked, runCommand } from "../helpers/process.js";
import { startWrangler, type WranglerInstance } from "../helpers/wrangler.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  devDependencies: Record<string, string>;
};
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The budget for the gzipped upload of worker + wasm (the free plan's limit is 3 MB). */
const UPLOAD_GZIP_BUDGET = 200 * 1024;

/**
 * The files of the README's quick start: its code blocks that name a file
 * (```ts title="src/chat.ts"), by file name, verbatim.
 */
function quickStartFiles(): Map<string, string> {
  const start = README.indexOf("## Quick start");
  const end = README.indexOf("\n## ", start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  const files = new Map<string, string>();
  for (const m of section.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm)) {
    files.set(m[1] as string, m[2] as string);
  }
  return files;
}

/** The tool versions of this repository, so that npm finds them in its cache. */
function devVersion(name: string): string {
  const version = ROOT_PACKAGE.devDependencies[name];
  if (!version) throw new Error(`${name} is not a devDependency of the repository`);
  return `${name}@${version}`;
}

// ---- the existing app, before socket.io-durable ----------------------------------------

const APP_PACKAGE = {
  name: "existing-workers-app",
  version: "1.0.0",
  private: true,
  type: "module",
  scripts: { dev: "wrangler dev", deploy: "wrangler deploy", typecheck: "tsc --noEmit" },
  allowScripts: { esbuild: true, workerd: true },
};

const APP_WRANGLER = `{
  "name": "existing-workers-app",
  "main": "src/index.ts",
  "compatibility_date": "2026-11-01",
  "observability": { "enabled": false }
}
`;

const APP_TSCONFIG = {
  compilerOptions: {
    target: "es2024",
    lib: ["es2024"],
    module: "es2022",
    moduleResolution: "bundler",
    types: ["@cloudflare/workers-types"],
    strict: true,
    noEmit: true,
    isolatedModules: true,
    // The package's declarations are checked too.
    skipLibCheck: false,
  },
  include: ["src", "typecheck"],
};

const APP_INDEX_BEFORE = `interface Env {}

export default {
  async fetch(request: Request, _env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
`;

/**
 * Not part of the quick start and not bundled (nothing imports it): a typecheck of the
 * public API as the package declares it.
 */
const APP_API_CHECK = `import {
  type DefaultEventsMap,
  type DisconnectReason,
  type EventsMap,
  type Namespace,
  routeSocketIo,
  type Server,
  type ServerOptions,
  type Socket,
  SocketIoServer,
} from "socket.io-durable";
import { connectToWorker, type RequestTarget, workerTransports } from "socket.io-durable/testing";
import { type Socket as ClientSocket, io } from "socket.io-client";

interface ClientToServer {
  hello: (name: string, ack: (length: number) => void) => void;
}
interface ServerToClient {
  welcome: (text: string) => void;
}
interface Data {
  name: string;
}

export class Typed extends SocketIoServer<unknown, ClientToServer, ServerToClient, DefaultEventsMap, Data> {
  static options: ServerOptions = { pingInterval: 10_000, cors: { origin: "*" } };

  setup(io: Server<ClientToServer, ServerToClient, DefaultEventsMap, Data>): void {
    const admin: Namespace<ClientToServer, ServerToClient, DefaultEventsMap, Data> = io.of("/admin");
    admin.use((_socket, next) => next());
    io.on("connection", (socket: Socket<ClientToServer, ServerToClient, DefaultEventsMap, Data>) => {
      socket.data.name = "guest";
      socket.on("hello", (name, ack) => ack(name.length));
      socket.emit("welcome", "hi");
      // @ts-expect-error: not an event the server sends
      socket.emit("nope", 1);
      socket.on("disconnect", (reason: DisconnectReason) => console.log(reason));
    });
  }
}

// The maps written once: \`this["io"]\` is the class's server.
export class Once extends SocketIoServer<unknown, ClientToServer, ServerToClient, DefaultEventsMap, Data> {
  setup(io: this["io"]): void {
    io.on("connection", (socket) => {
      socket.on("hello", (name, ack) => ack(name.length));
      // @ts-expect-error: the text is a string
      socket.emit("welcome", 1);
    });
  }
}

export class Untyped extends SocketIoServer<unknown, ClientToServer, ServerToClient> {
  // @ts-expect-error: an untyped Server in a typed class
  setup(io: Server): void {
    io.emit("nope");
  }
}

export const maps: EventsMap[] = [];
export const route: typeof routeSocketIo = routeSocketIo;
// @ts-expect-error: only the entry points are exported
export const internal = import("socket.io-durable/dist/api/server.js");

// The test helper, with the app's own socket.io-client.
const target: RequestTarget = { fetch: async (request) => new Response(request.url) };
export const client: Promise<ClientSocket> = connectToWorker(target, "/admin", {
  transports: ["websocket"],
  auth: { token: "t0k" },
});
export const transports = io("http://localhost", { transports: workerTransports(target) });
// @ts-expect-error: a transport the helper does not have
export const none = connectToWorker(target, "/", { transports: ["webtransport"] });
`;

/**
 * Directories of the machine that builds the package, none of which may be named in
 * what it ships: the repository, the home directory, cargo's and rustup's.
 */
function buildMachinePaths(): string[] {
  const home = homedir();
  return [
    ROOT,
    home,
    process.env.CARGO_HOME ? resolve(process.env.CARGO_HOME) : join(home, ".cargo"),
    process.env.RUSTUP_HOME ? resolve(process.env.RUSTUP_HOME) : join(home, ".rustup"),
    "/home/",
    "/root/",
    "/work/",
    ".cargo/registry",
    ".cargo/git",
    ".rustup/toolchains",
  ];
}

/** The entry point of a CLI installed in the repository's node_modules. */
function repoBin(pkg: string, bin: string): string {
  const manifest = createRequire(join(ROOT, "package.json")).resolve(`${pkg}/package.json`);
  const bins = (JSON.parse(readFileSync(manifest, "utf8")) as { bin: Record<string, string> }).bin;
  return join(dirname(manifest), bins[bin] as string);
}

interface FileSize {
  file: string;
  bytes: number;
  gzip: number;
}

describe("the npm package in an existing Workers app", () => {
  let dir = "";
  let app = "";
  let tarball = "";
  let wrangler: WranglerInstance | undefined;
  const clients: ClientSocket[] = [];

  const env = cleanEnv();
  const wranglerEntry = (): string => join(app, "node_modules", "wrangler", "bin", "wrangler.js");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "socket.io-durable-consumer-"));

    // The package, as `npm publish` would upload it (`prepack` builds it).
    await runChecked("npm", ["pack", "--pack-destination", dir], {
      cwd: ROOT,
      env,
      timeoutMs: 900_000,
    });
    const packed = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
    expect(packed).toEqual([`${ROOT_PACKAGE.name}-${ROOT_PACKAGE.version}.tgz`]);
    tarball = join(dir, packed[0] as string);

    // An existing Workers app with its own route and tooling.
    app = join(dir, "app");
    await mkdir(join(app, "src"), { recursive: true });
    await writeFile(join(app, "package.json"), `${JSON.stringify(APP_PACKAGE, null, 2)}\n`);
    await writeFile(join(app, "tsconfig.json"), `${JSON.stringify(APP_TSCONFIG, null, 2)}\n`);
    await writeFile(join(app, "wrangler.jsonc"), APP_WRANGLER);
    await writeFile(join(app, "src", "index.ts"), APP_INDEX_BEFORE);
    const npmInstall = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
    await runChecked(
      "npm",
      [
        ...npmInstall,
        "--save-dev",
        devVersion("wrangler"),
        devVersion("typescript"),
        devVersion("@cloudflare/workers-types"),
        devVersion("socket.io-client"),
      ],
      { cwd: app, env, timeoutMs: 600_000 },
    );

    // Step 1 of the quick start, with the packed file in place of the registry.
    expect(README).toContain("npm install socket.io-durable");
    await runChecked("npm", [...npmInstall, tarball], { cwd: app, env, timeoutMs: 600_000 });

    // Steps 2-4: the README's files, verbatim; its wrangler.jsonc entries added to the
    // app's configuration.
    const files = quickStartFiles();
    expect([...files.keys()].sort()).toEqual(["src/chat.ts", "src/index.ts", "wrangler.jsonc"]);
    for (const [name, text] of files) {
      if (name === "wrangler.jsonc") continue;
      await writeFile(join(app, name), text);
    }
    const entries = (files.get("wrangler.jsonc") as string).trimEnd();
    const config = APP_WRANGLER.trimEnd().replace(
      /\n\}$/,
      `,\n${entries.replace(/^/gm, "  ")}\n}\n`,
    );
    await writeFile(join(app, "wrangler.jsonc"), config);
    await mkdir(join(app, "typecheck"), { recursive: true });
    await writeFile(join(app, "typecheck", "public-api.ts"), APP_API_CHECK);
  }, 1_200_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await wrangler?.stop();
    if (dir && process.env.KEEP_CONSUMER_APP !== "1") {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("ships the compiled library, its declarations and the wasm, and nothing else", async () => {
    const { stdout } = await runChecked("tar", ["-tzf", tarball], { cwd: dir, env });
    const files = stdout
      .trim()
      .split("\n")
      .map((f) => f.replace(/^package\//, ""))
      .sort();
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("dist/wasm-pkg/core_bg.wasm");
    expect(files).toContain("README.md");
    expect(files).toContain("LICENSE");
    expect(files).toContain("package.json");
    const unexpected = files.filter(
      (f) =>
        !/^dist\/.+\.(js|d\.ts|wasm)$/.test(f) &&
        !["README.md", "LICENSE", "package.json"].includes(f),
    );
    expect(unexpected).toEqual([]);
    // Compiled: no TypeScript source besides declarations.
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);

    const installed = JSON.parse(
      await readFile(join(app, "node_modules", "socket.io-durable", "package.json"), "utf8"),
    ) as Record<string, unknown>;
    // Nothing is added to the app's Worker; the client that the `testing` entry point
    // drives is the app's own, when it has one.
    expect(installed.dependencies ?? {}).toEqual({});
    expect(installed.peerDependencies ?? {}).toEqual({ "socket.io-client": "^4.8.0" });
    expect(installed.peerDependenciesMeta ?? {}).toEqual({
      "socket.io-client": { optional: true },
    });
    expect(installed.os).toBeUndefined();
    expect(installed.cpu).toBeUndefined();
  });

  it("names no directory of the build machine, in the .wasm's panic locations or anywhere else", async () => {
    const installed = join(app, "node_modules", "socket.io-durable");
    const wasm = (await readFile(join(installed, "dist", "wasm-pkg", "core_bg.wasm"))).toString(
      "latin1",
    );
    // The module does name source files (where a panic would be located): the scan
    // below reads them.
    const sources = [...new Set(wasm.match(/[\w./-]+\.rs(?![\w])/g) ?? [])];
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.some((f) => f.includes("/src/"))).toBe(true);
    // The only absolute ones are the Rust standard library's own (it is built with
    // `/rustc/<commit>` and `/rust/deps` for its sources).
    const absolute = [...wasm.matchAll(/(?<![\w.~-])\/[\w.~/-]+\.rs(?![\w])/g)].map((m) => m[0]);
    expect(absolute.filter((f) => !/^\/rustc\/[0-9a-f]+\/|^\/rust\/deps\//.test(f))).toEqual([]);

    const files = readdirSync(installed, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    expect(files.length).toBeGreaterThan(5);
    const found: string[] = [];
    for (const file of files) {
      const text = (await readFile(file)).toString("latin1");
      for (const path of buildMachinePaths()) {
        if (text.includes(path)) found.push(`${file.slice(installed.length + 1)}: ${path}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("passes publint, suggestions included", async () => {
    const tarballBytes = await readFile(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: new Uint8Array(tarballBytes).buffer },
      level: "suggestion",
      strict: true,
    });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`)).toEqual(
      [],
    );
  });

  it("has types that resolve for every entry point (arethetypeswrong)", async () => {
    // The package is ESM only (Workers load ES modules): a `require()` of it from
    // CommonJS is the one thing it does not offer, so that rule is the one set aside.
    const attw = await runCommand(
      process.execPath,
      [
        repoBin("@arethetypeswrong/cli", "attw"),
        tarball,
        "--format",
        "json",
        "--ignore-rules",
        "cjs-resolves-to-esm",
      ],
      { cwd: dir, env, timeoutMs: 120_000 },
    );
    const report = JSON.parse(attw.stdout) as {
      analysis: { entrypoints: Record<string, unknown>; types: { kind: string } };
      problems?: Record<string, { kind: string; entrypoint: string; resolutionKind: string }[]>;
    };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(
      Object.keys(ROOT_PACKAGE.exports).sort(),
    );
    expect(report.analysis.types.kind).toBe("included");
    const problems = Object.values(report.problems ?? {}).flat();
    expect(problems.filter((p) => p.kind !== "CJSResolvesToESM")).toEqual([]);
    expect(attw.code, attw.stderr).toBe(0);
  });

  it("publishes cleanly (npm publish --dry-run): nothing auto-corrected, the files packed", async () => {
    // --offline: npm looks for the versions already published and, offline, finds none;
    // --ignore-scripts: the package built by `npm pack` above is the one checked.
    const published = await runCommand(
      "npm",
      ["publish", "--dry-run", "--json", "--ignore-scripts", "--offline"],
      { cwd: ROOT, env, timeoutMs: 120_000 },
    );
    expect(published.code, published.stderr).toBe(0);
    const warnings = published.stderr
      .split("\n")
      .filter((line) => /^npm warn/i.test(line))
      // Nobody is logged in to the registry here, which a dry run only mentions.
      .filter((line) => !/requires you to be logged in .*\(dry-run\)/.test(line));
    expect(warnings).toEqual([]);
    const report = JSON.parse(published.stdout) as Record<
      string,
      { id: string; files: { path: string }[] }
    >;
    const entry = report[ROOT_PACKAGE.name];
    expect(entry?.id).toBe(`${ROOT_PACKAGE.name}@${ROOT_PACKAGE.version}`);
    const { stdout } = await runChecked("tar", ["-tzf", tarball], { cwd: dir, env });
    const packed = stdout
      .trim()
      .split("\n")
      .map((f) => f.replace(/^package\//, ""))
      .sort();
    expect(entry?.files.map((f) => f.path).sort()).toEqual(packed);
  });

  it("typechecks the app against the package's declarations", async () => {
    await runChecked(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc")], {
      cwd: app,
      env,
      timeoutMs: 180_000,
    });
  }, 200_000);

  it("serves events and acknowledgements under wrangler dev; the app's own routes still answer", async () => {
    wrangler = await startWrangler({
      config: "wrangler.jsonc",
      cwd: app,
      wranglerEntry: wranglerEntry(),
      readyPath: "/health",
      readyTimeoutMs: 120_000,
    });
    const url = wrangler.url;

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("ok");
    const other = await fetch(`${url}/not-a-route`);
    expect(other.status).toBe(404);
    await other.arrayBuffer();

    // The app's own copy of the client.
    const { io } = createRequire(join(app, "package.json"))("socket.io-client") as {
      io: typeof ioFunction;
    };
    const connect = (opts: Parameters<typeof ioFunction>[1]): Promise<ClientSocket> => {
      const socket = io(url, { forceNew: true, reconnection: false, ...opts });
      clients.push(socket);
      return new Promise((resolveSocket, reject) => {
        socket.once("connect", () => resolveSocket(socket));
        socket.once("connect_error", reject);
      });
    };
    // Default transports (polling, then the upgrade to WebSocket), and WebSocket only.
    const alice = await connect({});
    const bob = await connect({ transports: ["websocket"] });

    const room = `room-${Math.random().toString(36).slice(2, 8)}`;
    expect(await alice.timeout(5_000).emitWithAck("join", room)).toBe(`joined ${room}`);
    expect(await bob.timeout(5_000).emitWithAck("join", room)).toBe(`joined ${room}`);

    const said = new Promise<unknown[]>((resolveSaid) => {
      bob.once("said", (...args: unknown[]) => resolveSaid(args));
    });
    alice.emit("say", room, "hello from alice");
    expect(await said).toEqual([alice.id, "hello from alice"]);

    const answer = new Promise<unknown[]>((resolveSaid) => {
      alice.once("said", (...args: unknown[]) => resolveSaid(args));
    });
    bob.emit("say", room, "hi alice");
    expect(await answer).toEqual([bob.id, "hi alice"]);

    // The default client did upgrade.
    const deadline = Date.now() + 10_000;
    while (alice.io.engine.transport.name !== "websocket" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(alice.io.engine.transport.name).toBe("websocket");

    const stillHealthy = await fetch(`${url}/health`);
    expect(await stillHealthy.text()).toBe("ok");
  }, 180_000);

  it("builds for upload (wrangler deploy --dry-run) within the size budget", async () => {
    const outdir = join(dir, "upload");
    const { stdout, stderr } = await runChecked(
      process.execPath,
      [wranglerEntry(), "deploy", "--dry-run", "--outdir", outdir],
      { cwd: app, env, timeoutMs: 180_000 },
    );
    const output = `${stdout}\n${stderr}`;
    const reported = output.match(/Total Upload:\s*([\d.]+ \w+)\s*\/\s*gzip:\s*([\d.]+ \w+)/);

    const sizes: FileSize[] = [];
    for (const file of readdirSync(outdir).sort()) {
      if (!/\.(js|mjs|wasm)$/.test(file)) continue; // source maps and README are not uploaded
      const bytes = await readFile(join(outdir, file));
      sizes.push({ file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
    }
    const worker = sizes.filter((s) => !s.file.endsWith(".wasm"));
    const wasm = sizes.filter((s) => s.file.endsWith(".wasm"));
    expect(worker.length).toBeGreaterThan(0);
    expect(wasm.length).toBe(1);
    const sum = (list: FileSize[], key: "bytes" | "gzip"): number =>
      list.reduce((n, s) => n + s[key], 0);
    const total = { bytes: sum(sizes, "bytes"), gzip: sum(sizes, "gzip") };
    const tarballBytes = (await stat(tarball)).size;

    const report = {
      package: `${ROOT_PACKAGE.name}@${ROOT_PACKAGE.version}`,
      tarballBytes,
      upload: {
        worker: { bytes: sum(worker, "bytes"), gzip: sum(worker, "gzip") },
        wasm: { bytes: sum(wasm, "bytes"), gzip: sum(wasm, "gzip") },
        total,
        files: sizes,
        wranglerReported: reported ? { total: reported[1], gzip: reported[2] } : null,
      },
    };
    await mkdir(join(ROOT, "test-results"), { recursive: true });
    await writeFile(
      join(ROOT, "test-results", "package-size.json"),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      [
        "upload size of the quick-start app (wrangler deploy --dry-run):",
        ...sizes.map((s) => `  ${s.file}: ${kib(s.bytes)} (gzip ${kib(s.gzip)})`),
        `  worker + wasm: ${kib(total.bytes)} (gzip ${kib(total.gzip)})`,
        `  wrangler reports: ${reported ? `${reported[1]} / gzip ${reported[2]}` : "(no total line)"}`,
        `  package tarball: ${kib(tarballBytes)}`,
      ].join("\n"),
    );

    expect(total.gzip).toBeLessThan(UPLOAD_GZIP_BUDGET);
  }, 200_000);
});
