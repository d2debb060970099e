// `npm run conformance`: installs whatever is missing, builds the WebAssembly core, then
// serves the test fixture (test/fixture/wrangler.jsonc) with `wrangler dev` on
// http://127.0.0.1:${PORT:-3000}, for running external client test suites against it.

import fs from "node:fs";
import path from "node:path";
import {
  buildWasm,
  ensureNode22,
  ensureNpmDeps,
  fail,
  log,
  ROOT,
  resolveBin,
  runService,
  ToolchainError,
} from "./toolchain.mjs";

const PORT = process.env.PORT || "3000";

try {
  const { node, env } = ensureNode22();
  ensureNpmDeps();
  await buildWasm();
  const config = path.join(ROOT, "test", "fixture", "wrangler.jsonc");
  if (!fs.existsSync(config)) throw new ToolchainError("test/fixture/wrangler.jsonc not found");
  log(`starting the conformance fixture on http://127.0.0.1:${PORT} (Ctrl+C to stop)`);
  const code = await runService(
    node,
    [
      resolveBin("wrangler"),
      "dev",
      "-c",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      PORT,
      ...process.argv.slice(2),
    ],
    { env },
  );
  process.exit(code);
} catch (error) {
  fail(error);
}
