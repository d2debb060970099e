// `npm run dev`: installs whatever is missing, builds the WebAssembly core, then serves
// the example app (wrangler.jsonc) with `wrangler dev` on http://127.0.0.1:8787
// (`npm run dev -- --port N` or PORT=N for another port). Other arguments are passed on
// to wrangler: `npm run dev -- --log-level debug`.

import { serveWithWrangler } from "./toolchain.mjs";

await serveWithWrangler("wrangler.jsonc", {
  defaultPort: 8787,
  message: "starting wrangler dev",
  argv: process.argv.slice(2),
});
