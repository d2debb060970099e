// What every part of the benchmark shares: the servers compared, the workload sizes, the
// run's context (created by run.mjs) and small helpers.

import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH, "..");

export const SERVERS = ["ours", "node", "bare"];
export const LABEL = { ours: "socket.io-durable", node: "Node socket.io", bare: "bare DO echo" };

/** How a socket joins its rooms in the joins workload (see the `joins` client command). */
export const JOIN_MODES = ["handler", "events"];

/** Workload sizes. */
export function workloadSizes(quick) {
  return quick
    ? {
        echo: { rounds: 2, perRound: 25, warmup: 10 },
        throughput: { clients: 5, rounds: 1, seconds: 1 },
        fanout: { receivers: 20, rounds: 2, perRound: 2 },
        shards: { receivers: 20, clients: 5, rounds: 1, perRound: 2, seconds: 1, emptyCasts: 10 },
        recovery: { receivers: 10, casts: 10, missed: 50, rounds: 1 },
        parsers: { rounds: 1, perRound: 10, warmup: 5 },
        joins: { rooms: 100, rounds: 1 },
        connections: { steps: [10, 30], deadlineMs: [20_000, 20_000] },
        wake: { sizes: [2, 5], idleMs: 12_000 },
        idle: { sockets: 3 },
        deadlineMs: 150_000,
      }
    : {
        echo: { rounds: 5, perRound: 1_000, warmup: 200 },
        throughput: { clients: 100, rounds: 3, seconds: 4 },
        fanout: { receivers: 1_000, rounds: 4, perRound: 5 },
        shards: {
          receivers: 1_000,
          clients: 200,
          rounds: 3,
          perRound: 5,
          seconds: 4,
          emptyCasts: 200,
        },
        recovery: { receivers: 100, casts: 500, missed: 1_000, rounds: 3 },
        parsers: { rounds: 5, perRound: 300, warmup: 50 },
        joins: { rooms: 10_000, rounds: 3 },
        connections: { steps: [1_000, 10_000], deadlineMs: [60_000, 180_000] },
        wake: { sizes: [10, 2_000], idleMs: 20_000 },
        idle: { sockets: 100 },
        deadlineMs: 30 * 60_000,
      };
}

/**
 * The context of one run, handed to the servers, the workloads and the report:
 * { node, env } (Node 22 and its environment), the options { quick, viaProxy }, the
 * workload `sizes`, `runId` (a suffix that makes the object names of this run new),
 * `started` and `loadAtStart`, and `results`: everything measured, from which the table
 * is built.
 */
export function createContext({
  node,
  env,
  quick,
  viaProxy,
  started = Date.now(),
  loadAtStart = os.loadavg(),
}) {
  const sizes = workloadSizes(quick);
  return {
    node,
    env,
    quick,
    viaProxy,
    sizes,
    runId: started.toString(36),
    started,
    loadAtStart,
    results: {
      echo: {},
      split: null,
      throughput: {},
      throughputNoDeflate: {},
      fanout: {},
      shards: {},
      recovery: null,
      parsers: null,
      joins: {},
      connections: {},
      connectionsNoDeflate: {},
      wake: {},
      cost: {},
      idle: null,
      sizes: null,
      micro: null,
      notes: [],
      failures: [],
    },
    checkDeadline() {
      if (Date.now() - started > sizes.deadlineMs) {
        throw new Error(`the run is past its time limit (${sizes.deadlineMs / 1000} s)`);
      }
    },
  };
}

export function log(message) {
  console.log(`[bench] ${message}`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorText(error) {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
