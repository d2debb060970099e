// The testing recipe of docs/testing.md, followed as a user follows it: the Workers app
// of the README's quick start, with the packed package installed from its tarball and
// the page's files written verbatim, typechecked, then tested by the app's own vitest
// with @cloudflare/vitest-plugin (inside workerd). Besides the page's tests, the app
// gets checks of the helper itself (HELPER_CHECKS). Each test of the app is one test
// here, which passes when it passed there.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, runChecked, runCommand } from "../helpers/process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const RECIPE = readFileSync(join(ROOT, "docs", "testing.md"), "utf8");

/** The code blocks of `markdown` that name a file (```ts title="src/chat.ts"), verbatim. */
function titledBlocks(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of markdown.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm)) {
    files.set(m[1] as string, m[2] as string);
  }
  return files;
}

/** The README's quick start: its named files. */
function quickStartFiles(): Map<string, string> {
  const start = README.indexOf("## Quick start");
  const end = README.indexOf("\n## ", start + 1);
  return titledBlocks(README.slice(start, end === -1 ? undefined : end));
}

/** The tool versions of this repository, so that npm finds them in its cache. */
function devVersion(name: string): string {
  const version = ROOT_PACKAGE.devDependencies[name];
  if (!version) throw new Error(`${name} is not a devDependency of the repository`);
  return `${name}@${version}`;
}

/** The titles of the tests (`it("...")`) a test file declares. */
function testTitles(source: string): string[] {
  return [...source.matchAll(/^\s*it\(\s*"((?:[^"\\]|\\.)*)"/gm)].map((m) =>
    JSON.parse(`"${m[1]}"`),
  );
}

/**
 * Checks of `socket.io-durable/testing` itself, against the quick start's `Chat`: every
 * transport, binary data, a Durable Object stub as the target, refusals, the server
 * closing a connection, and the transports given to `io()` directly.
 */
const HELPER_CHECKS = `import { env, exports } from "cloudflare:workers";
import { io, type Socket } from "socket.io-client";
import {
  type ConnectOptions,
  connectToWorker,
  type RequestTarget,
  workerTransports,
} from "socket.io-durable/testing";
import { afterEach, expect, it } from "vitest";

const clients: Socket[] = [];

async function connect(target: RequestTarget, options?: ConnectOptions): Promise<Socket> {
  const socket = await connectToWorker(target, "/", options);
  clients.push(socket);
  return socket;
}

function next(socket: Socket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => socket.once(event, (...args: unknown[]) => resolve(args)));
}

afterEach(() => {
  for (const socket of clients.splice(0)) socket.disconnect();
});

it("connects over polling, over WebSocket, and upgrades from polling to WebSocket", async () => {
  const polling = await connect(exports.default, { transports: ["polling"] });
  const websocket = await connect(exports.default, { transports: ["websocket"] });
  const upgrading = await connect(exports.default);
  expect(polling.io.engine.transport.name).toBe("polling");
  expect(websocket.io.engine.transport.name).toBe("websocket");
  if (upgrading.io.engine.transport.name !== "websocket") {
    await new Promise((resolve) => upgrading.io.engine.once("upgrade", resolve));
  }
  expect(upgrading.io.engine.transport.name).toBe("websocket");
  for (const socket of [polling, websocket, upgrading]) {
    expect(await socket.emitWithAck("join", "transports")).toBe("joined transports");
  }
});

it("carries binary data both ways, over polling and over WebSocket", async () => {
  const alice = await connect(exports.default, { transports: ["polling"] });
  const bob = await connect(exports.default, { transports: ["websocket"] });
  await alice.emitWithAck("join", "binary");
  await bob.emitWithAck("join", "binary");

  const toBob = next(bob, "said");
  alice.emit("say", "binary", new Uint8Array([0, 1, 2, 255]));
  const [from, bytes] = await toBob;
  expect(from).toBe(alice.id);
  expect([...new Uint8Array(bytes as ArrayBuffer)]).toEqual([0, 1, 2, 255]);

  const toAlice = next(alice, "said");
  bob.emit("say", "binary", new Uint8Array([9, 8, 7]));
  const [back, more] = await toAlice;
  expect(back).toBe(bob.id);
  expect([...new Uint8Array(more as ArrayBuffer)]).toEqual([9, 8, 7]);
});

it("reaches the Durable Object through its stub, the same server as through the Worker", async () => {
  const direct = await connect(env.CHAT.getByName("default"), { transports: ["websocket"] });
  const routed = await connect(exports.default, { transports: ["polling"] });
  await direct.emitWithAck("join", "stub");
  await routed.emitWithAck("join", "stub");
  const said = next(direct, "said");
  routed.emit("say", "stub", "through the router");
  expect(await said).toEqual([routed.id, "through the router"]);
});

it("rejects with the server's refusal: an unknown namespace, a path the Worker does not serve", async () => {
  await expect(connectToWorker(exports.default, "/nowhere")).rejects.toThrow("Invalid namespace");
  await expect(
    connectToWorker(exports.default, "/", { path: "/elsewhere/", transports: ["polling"] }),
  ).rejects.toThrow("fetch read error");
  await expect(
    connectToWorker(exports.default, "/", { path: "/elsewhere/", transports: ["websocket"] }),
  ).rejects.toThrow("websocket error");
});

it("reports the server closing the connection (a message over maxHttpBufferSize)", async () => {
  const websocket = await connect(exports.default, { transports: ["websocket"] });
  const closed = next(websocket, "disconnect");
  websocket.emit("say", "lobby", "x".repeat(1_100_000));
  expect((await closed)[0]).toBe("transport close");

  const polling = await connect(exports.default, { transports: ["polling"] });
  const refused = next(polling, "disconnect");
  polling.emit("say", "lobby", "x".repeat(1_100_000));
  expect((await refused)[0]).toBe("transport error");
});

it("works as the transports option of io() itself", async () => {
  const socket = io("http://localhost/", {
    forceNew: true,
    reconnection: false,
    transports: workerTransports(exports.default, ["websocket"]),
  });
  clients.push(socket);
  await new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(undefined));
    socket.once("connect_error", reject);
  });
  expect(socket.io.engine.transport.name).toBe("websocket");
  expect(await socket.emitWithAck("join", "io")).toBe("joined io");
});
`;

const APP_PACKAGE = {
  name: "my-app",
  version: "1.0.0",
  private: true,
  type: "module",
  scripts: { test: "vitest run", typecheck: "tsc --noEmit" },
  allowScripts: { esbuild: true, workerd: true },
};

/** The recipe's files: the page's, then the helper's checks. */
const RECIPE_FILES = titledBlocks(RECIPE);
const APP_TESTS = new Map<string, string>([
  ...[...RECIPE_FILES].filter(([name]) => name.endsWith(".test.ts")),
  ["test/helper.test.ts", HELPER_CHECKS],
]);

interface InnerTest {
  title: string;
  status: string;
  failureMessages: string[];
}

describe("the testing recipe (docs/testing.md) in the quick-start app", () => {
  let dir = "";
  let app = "";
  let output = "";
  /** The app's test results, by file (relative to the app) and title. */
  const results = new Map<string, Map<string, InnerTest>>();

  // The environment of the app's commands: no npm settings nor vitest state of this run.
  const env = cleanEnv();
  for (const name of Object.keys(env)) if (/^VITEST/.test(name)) delete env[name];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "socket.io-durable-recipe-"));
    await runChecked("npm", ["pack", "--pack-destination", dir], {
      cwd: ROOT,
      env,
      timeoutMs: 900_000,
    });
    const tarball = join(dir, `${ROOT_PACKAGE.name}-${ROOT_PACKAGE.version}.tgz`);

    app = join(dir, "app");
    await mkdir(join(app, "src"), { recursive: true });
    await writeFile(join(app, "package.json"), `${JSON.stringify(APP_PACKAGE, null, 2)}\n`);
    const npmInstall = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
    // The quick start's app, with TypeScript, then the recipe's installation step.
    await runChecked(
      "npm",
      [
        ...npmInstall,
        "--save-dev",
        devVersion("typescript"),
        devVersion("@cloudflare/workers-types"),
      ],
      { cwd: app, env, timeoutMs: 600_000 },
    );
    await runChecked("npm", [...npmInstall, tarball], { cwd: app, env, timeoutMs: 600_000 });
    const install = "npm install --save-dev vitest @cloudflare/vitest-plugin socket.io-client";
    expect(RECIPE).toContain(install);
    await runChecked(
      "npm",
      [
        ...npmInstall,
        "--save-dev",
        devVersion("vitest"),
        devVersion("@cloudflare/vitest-plugin"),
        devVersion("socket.io-client"),
      ],
      { cwd: app, env, timeoutMs: 600_000 },
    );

    const quickStart = quickStartFiles();
    for (const name of ["src/chat.ts", "src/index.ts"]) {
      await writeFile(join(app, name), quickStart.get(name) as string);
    }
    for (const [name, text] of [...RECIPE_FILES, ...APP_TESTS]) {
      await mkdir(dirname(join(app, name)), { recursive: true });
      await writeFile(join(app, name), text);
    }

    const report = join(dir, "vitest.json");
    const run = await runCommand(
      process.execPath,
      [
        join(app, "node_modules", "vitest", "vitest.mjs"),
        "run",
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${report}`,
      ],
      { cwd: app, env, timeoutMs: 600_000 },
    );
    output = `--- stdout ---\n${run.stdout.slice(-8000)}\n--- stderr ---\n${run.stderr.slice(-8000)}`;
    try {
      const json = JSON.parse(await readFile(report, "utf8")) as {
        testResults: { name: string; assertionResults: InnerTest[] }[];
      };
      for (const file of json.testResults) {
        const tests = new Map<string, InnerTest>();
        for (const test of file.assertionResults) tests.set(test.title, test);
        results.set(relative(app, file.name), tests);
      }
    } catch {
      // No report: each test below fails with the output.
    }
  }, 1_500_000);

  afterAll(async () => {
    if (dir && process.env.KEEP_RECIPE_APP !== "1") {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("has the files of the recipe, for the app of the quick start", () => {
    expect([...RECIPE_FILES.keys()].sort()).toEqual([
      "test/chat.test.ts",
      "test/env.d.ts",
      "tsconfig.json",
      "vitest.config.ts",
      "wrangler.jsonc",
    ]);
    const quickStart = quickStartFiles();
    expect([...quickStart.keys()]).toEqual(
      expect.arrayContaining(["src/chat.ts", "src/index.ts", "wrangler.jsonc"]),
    );
    // The recipe's wrangler.jsonc is the quick start's app: its Durable Object entries.
    const lines = (text: string): string[] => text.split("\n").map((line) => line.trim());
    const recipeConfig = lines(RECIPE_FILES.get("wrangler.jsonc") as string);
    const entries = lines(quickStart.get("wrangler.jsonc") as string).filter((l) => l.length > 1);
    expect(entries.length).toBeGreaterThan(0);
    expect(recipeConfig).toEqual(expect.arrayContaining(entries));
  });

  it("typechecks: the app, its tests, and the helper's declarations", async () => {
    await runChecked(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc")], {
      cwd: app,
      env,
      timeoutMs: 180_000,
    });
  }, 200_000);

  it("ran every test of the app, and only those", () => {
    const ran = [...results].flatMap(([file, tests]) =>
      [...tests.keys()].map((t) => `${file}: ${t}`),
    );
    const declared = [...APP_TESTS].flatMap(([file, source]) =>
      testTitles(source).map((t) => `${file}: ${t}`),
    );
    expect(declared.length).toBeGreaterThanOrEqual(APP_TESTS.size);
    expect(ran.sort(), output).toEqual(declared.sort());
  });

  for (const [file, source] of APP_TESTS) {
    for (const title of testTitles(source)) {
      it(`${file}: ${title}`, () => {
        const test = results.get(file)?.get(title);
        expect(test, `not run\n${output}`).toBeDefined();
        expect(test?.status, test?.failureMessages.join("\n")).toBe("passed");
      });
    }
  }
});
