// `npm run dev`: installs whatever is missing, builds the WebAssembly core, then serves
// the example app (wrangler.jsonc) with `wrangler dev` on http://127.0.0.1:8787.
// Extra arguments are passed on to wrangler: `npm run dev -- --log-level debug`.

import { serveWithWrangler } from "./toolchain.mjs";

await serveWithWrangler("wrangler.jsonc", 8787, "starting wrangler dev", process.argv.slice(2));
