// `npm run conformance`: installs whatever is missing, builds the WebAssembly core, then
// serves the test fixture (test/fixture/wrangler.jsonc) with `wrangler dev` on
// http://127.0.0.1:${PORT:-3000}, for running external client test suites against it.

import { serveWithWrangler } from "./toolchain.mjs";

await serveWithWrangler(
  "test/fixture/wrangler.jsonc",
  process.env.PORT || "3000",
  "starting the conformance fixture",
  process.argv.slice(2),
);
