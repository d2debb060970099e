// Smoke test of the benchmark harness (`npm run bench`): every workload runs at a tiny
// size against every server, so that the harness cannot rot. Timings are not checked.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Row {
  workload: string;
  metric: string;
  ours: unknown;
  node: unknown;
  bare: unknown;
}

/** The sections of the table, in order; each must be there with values. */
const SECTIONS = [
  "echo round trip",
  "throughput",
  "fan-out",
  "joins (",
  "connections (open 10)",
  "connections (open 30)",
  "wake (2 idle sockets",
  "wake (5 idle sockets",
  "upload size",
  "Durable Object cost counters",
  "idle (",
];

describe("npm run bench -- --quick", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("typechecks the bench worker", () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", "bench"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 60_000);

  it("runs every workload against every server and prints the whole table", () => {
    const json = join(dir, "bench.json");
    const r = spawnSync(process.execPath, ["bench/run.mjs", "--quick", "--json", json], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 170_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output.slice(-4000)).toBe(0);
    expect(output).toContain("bench (quick) finished");
    const { rows, shardRows, recoveryRows, parserRows, failures } = JSON.parse(
      readFileSync(json, "utf8"),
    ) as {
      rows: Row[];
      shardRows: { workload: string; metric: string; one: unknown; four: unknown }[];
      recoveryRows: { metric: string; off: unknown; on: unknown }[];
      parserRows: { metric: string; values: unknown[] }[];
      failures: string[];
    };
    expect(failures).toEqual([]);
    const sections = [...new Set(rows.map((row) => row.workload))];
    expect(sections).toHaveLength(SECTIONS.length);
    SECTIONS.forEach((prefix, i) => {
      expect(sections[i]).toContain(prefix);
    });
    for (const row of rows) {
      // Every row has a figure for socket.io-durable and one for at least one other server.
      const present = (v: unknown) => v !== null && v !== undefined;
      expect(present(row.ours), `${row.workload} / ${row.metric}`).toBe(true);
      expect(present(row.node) || present(row.bare), `${row.workload} / ${row.metric}`).toBe(true);
    }
    // The shards table: fan-out, the broadcast to an empty room, throughput; 1 and 4.
    expect(new Set(shardRows.map((row) => row.workload.split(" (")[0]))).toEqual(
      new Set(["fan-out", "broadcast to a room without members", "throughput"]),
    );
    for (const row of shardRows) {
      const present = (v: unknown) => typeof v === "number" && Number.isFinite(v);
      expect(present(row.one) && present(row.four), `${row.workload} / ${row.metric}`).toBe(true);
    }
    // The recovery table: every row has a figure with recovery on; the costs per
    // broadcast one with it off too.
    expect(recoveryRows).toHaveLength(6);
    for (const row of recoveryRows) {
      expect(typeof row.on === "number" && Number.isFinite(row.on), row.metric).toBe(true);
      if (row.metric.includes("per broadcast")) expect(typeof row.off, row.metric).toBe("number");
    }
    // With recovery off a broadcast writes nothing; on, one row.
    expect(recoveryRows[0]?.off).toBe(0);
    expect(recoveryRows[0]?.on).toBe(1);
    // The parsers table: a figure for each parser on each server.
    expect(parserRows).toHaveLength(3);
    for (const row of parserRows) {
      expect(row.values, row.metric).toHaveLength(4);
      for (const v of row.values) {
        expect(typeof v === "number" && Number.isFinite(v), row.metric).toBe(true);
      }
    }
    // The printed tables have the same rows (and each a header and a separator line).
    const printed = output.split("\n").filter((line) => line.startsWith("| ")).length;
    expect(printed).toBe(
      rows.length + 2 + shardRows.length + 2 + recoveryRows.length + 2 + parserRows.length + 2,
    );
  }, 180_000);
});
