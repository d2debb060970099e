// The core micro-benchmarks: `cargo bench -p socketio-core --bench core`, shortened.

import { log } from "../common.mjs";
import { exec } from "../processes.mjs";

export async function microBenchmarks() {
  log("cargo bench -p socketio-core (short measurement: 1 s warm-up, 2 s per benchmark)");
  const r = await exec(
    "cargo",
    [
      "bench",
      "-p",
      "socketio-core",
      "--bench",
      "core",
      "--",
      "--warm-up-time",
      "1",
      "--measurement-time",
      "2",
    ],
    { echo: false },
  );
  if (r.code !== 0) throw new Error(`cargo bench failed (exit code ${r.code}):\n${r.stderr}`);
  const results = [];
  const re =
    /^(\S[^\n]*?)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]\n(?:\s+thrpt:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\])?/gm;
  for (const m of r.stdout.matchAll(re)) {
    results.push({
      name: m[1].trim(),
      median: `${m[2]} ${m[3]}`,
      throughput: m[4] ? `${m[4]} ${m[5]}` : null,
    });
  }
  if (results.length === 0) throw new Error(`no result in the output of cargo bench:\n${r.stdout}`);
  return results;
}
