// `npm run fuzz`: the long mode of the fuzz targets (rust/*/tests/fuzz.rs). Runs each
// target for FUZZ_SECONDS seconds (default 600), one after the other, in a release
// build, and prints how many inputs each ran. A name given after `--` runs only the
// targets whose test name contains it (`npm run fuzz -- json`). FUZZ_SEED replays a
// run. A failure prints the shrunk input and makes the script exit non-zero.

import { fail, run } from "./toolchain.mjs";

const DEFAULT_SECONDS = 600;

const seconds = process.env.FUZZ_SECONDS || String(DEFAULT_SECONDS);
if (!/^[1-9]\d*$/.test(seconds))
  fail(new Error(`FUZZ_SECONDS must be a positive integer, got ${seconds}`));

const filter = process.argv.slice(2);
const { code } = await run(
  "cargo",
  [
    "test",
    "--release",
    "-p",
    "engineio-core",
    "-p",
    "socketio-core",
    "--test",
    "fuzz",
    "--",
    "--nocapture",
    // One target at a time: each one gets a core of its own for its whole time.
    "--test-threads=1",
    ...filter,
  ],
  { env: { ...process.env, FUZZ_SECONDS: seconds } },
);
process.exitCode = code;
