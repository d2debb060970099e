// `npm run dev`: installs whatever is missing, builds the WebAssembly core, then serves
// the example app (wrangler.jsonc) with `wrangler dev` on http://127.0.0.1:8787.
// Extra arguments are passed on to wrangler: `npm run dev -- --log-level debug`.

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

const PORT = 8787;

try {
  const { node, env } = ensureNode22();
  ensureNpmDeps();
  await buildWasm();
  const config = path.join(ROOT, "wrangler.jsonc");
  if (!fs.existsSync(config))
    throw new ToolchainError("wrangler.jsonc not found in the repository root");
  log(`starting wrangler dev on http://127.0.0.1:${PORT} (Ctrl+C to stop)`);
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
      String(PORT),
      ...process.argv.slice(2),
    ],
    { env },
  );
  process.exit(code);
} catch (error) {
  fail(error);
}
