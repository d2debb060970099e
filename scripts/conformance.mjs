// `npm run conformance`: installs whatever is missing, builds the WebAssembly core, then
// serves the test fixture (test/fixture/wrangler.jsonc) with `wrangler dev` on
// http://127.0.0.1:${PORT:-3000} (or `-- --port N`), for running external client test
// suites against it. Other arguments are passed on to wrangler.

import { serveWithWrangler } from "./toolchain.mjs";

await serveWithWrangler("test/fixture/wrangler.jsonc", {
  defaultPort: 3000,
  message: "starting the conformance fixture",
  argv: process.argv.slice(2),
});
