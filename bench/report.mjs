// The report of a run: the table of results (markdown), the micro-benchmarks' table, the
// notes of the run, and docs/benchmarks.md, whose "Reading" section is kept when the file
// is regenerated.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { capture } from "../scripts/toolchain.mjs";
import { BENCH, JOIN_MODES, LABEL, log, ROOT, SERVERS } from "./common.mjs";
import { SHARD_COUNTS } from "./workloads/shards.mjs";

function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value === "string") return value;
  if (Number.isInteger(value) || Math.abs(value) >= 1000)
    return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(digits);
}

function ratio(a, b) {
  if (typeof a !== "number" || typeof b !== "number" || !b || Number.isNaN(a)) return "—";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

const kb = (bytes) => (typeof bytes === "number" ? bytes / 1024 : null);

/**
 * The rows of the table: [workload, metric, ours, node, bare] with numbers (for the
 * ratios) or text. Every row is always there; what could not be measured shows "—".
 */
export function tableRows(ctx) {
  const rows = [];
  const row = (workload, metric, get) => {
    const values = SERVERS.map((s) => {
      try {
        return get(s) ?? null;
      } catch {
        return null;
      }
    });
    rows.push([workload, metric, ...values]);
  };
  const E = ctx.sizes.echo;
  const echoName = `echo round trip (1 client, ${fmt(E.rounds * E.perRound)} sequential acks)`;
  row(echoName, "p50 ms ↓", (s) => ctx.results.echo[s].p50);
  row(echoName, "p99 ms ↓", (s) => ctx.results.echo[s].p99);
  row(echoName, "mean ms ↓", (s) => ctx.results.echo[s].mean);
  row(echoName, "server CPU µs per round trip ↓", (s) => ctx.results.echo[s].serverCpuUsPerRt);

  const T = ctx.sizes.throughput;
  const tpName = `throughput (${T.clients} clients, ${T.rounds * T.seconds} s)`;
  row(tpName, "events/s ↑", (s) => ctx.results.throughput[s].eventsPerSec);
  row(tpName, "ack latency p50 ms ↓", (s) => ctx.results.throughput[s].latency.p50);
  row(tpName, "server CPU µs per event ↓", (s) => ctx.results.throughput[s].serverCpuUsPerEvent);
  row(tpName, "client CPU µs per event ↓", (s) => ctx.results.throughput[s].clientCpuUsPerEvent);
  const TN = ctx.results.throughputNoDeflate;
  row(tpName, "… clients without permessage-deflate: events/s ↑", (s) => TN[s].eventsPerSec);
  row(
    tpName,
    "… without permessage-deflate: server CPU µs per event ↓",
    (s) => TN[s].serverCpuUsPerEvent,
  );
  row(
    tpName,
    "… without permessage-deflate: client CPU µs per event ↓",
    (s) => TN[s].clientCpuUsPerEvent,
  );

  const F = ctx.sizes.fanout;
  const fanName = `fan-out (1 emitter, room of ${fmt(F.receivers)}, ${F.rounds * F.perRound} broadcasts)`;
  row(fanName, "time until all received, p50 ms ↓", (s) => ctx.results.fanout[s].broadcast.p50);
  row(fanName, "deliveries/s ↑", (s) => ctx.results.fanout[s].deliveriesPerSec);
  row(fanName, "server CPU µs per delivery ↓", (s) => ctx.results.fanout[s].serverCpuUsPerDelivery);

  const J = ctx.sizes.joins;
  const joinsName = `joins (1 socket, ${fmt(J.rooms)} distinct rooms, ${J.rounds} round${J.rounds === 1 ? "" : "s"}; another client echoes meanwhile)`;
  const jv = (s, mode, f) => (s === "bare" ? "n/a" : f(ctx.results.joins[s][mode]));
  row(joinsName, `joins/s, one handler calling socket.join ${fmt(J.rooms)} times ↑`, (s) =>
    jv(s, "handler", (j) => j.joinsPerSec),
  );
  row(joinsName, "… µs per join ↓", (s) => jv(s, "handler", (j) => j.msPerJoin * 1000));
  row(joinsName, "… server CPU µs per join ↓", (s) =>
    jv(s, "handler", (j) => j.serverCpuUsPerJoin),
  );
  row(joinsName, "… the other client's echo meanwhile, max ms ↓", (s) =>
    jv(s, "handler", (j) => j.probe.max),
  );
  row(joinsName, `joins/s, ${fmt(J.rooms)} join events sent at once, each acked ↑`, (s) =>
    jv(s, "events", (j) => j.joinsPerSec),
  );
  row(joinsName, "… server CPU µs per join ↓", (s) => jv(s, "events", (j) => j.serverCpuUsPerJoin));
  row(joinsName, "… the other client's echo meanwhile, max ms ↓", (s) =>
    jv(s, "events", (j) => j.probe.max),
  );

  for (const [i, n] of ctx.sizes.connections.steps.entries()) {
    const name = `connections (open ${fmt(n)})`;
    const st = (s) => ctx.results.connections[s].steps[i];
    row(name, "sockets open", (s) =>
      st(s)
        ? `${fmt(st(s).opened)}${st(s).opened < n ? (st(s).capped ? " (fd limit)" : " (stopped)") : ""}`
        : null,
    );
    row(
      name,
      i === 0 ? "connects/s ↑" : `connects/s from ${fmt(ctx.sizes.connections.steps[i - 1])} ↑`,
      (s) => st(s)?.ratePerSec,
    );
    row(name, "server memory KB per socket ↓", (s) => kb(st(s)?.bytesPerSocket));
    if (i === 0) {
      row(name, "… clients without permessage-deflate: KB per socket ↓", (s) =>
        kb(ctx.results.connectionsNoDeflate[s].steps[0]?.bytesPerSocket),
      );
    }
  }

  for (const size of ctx.sizes.wake.sizes) {
    const name = `wake (${fmt(size)} idle sockets, ${ctx.sizes.wake.idleMs / 1000} s idle)`;
    const w = (s) => ctx.results.wake[`${s}/${size}`];
    row(name, "first reply ms ↓", (s) => w(s)?.ms);
    row(name, "server CPU ms for it ↓", (s) => w(s)?.cpuMs);
    row(name, "evicted / session kept", (s) =>
      w(s)
        ? `${s === "node" ? "never evicted" : w(s).evicted ? "evicted" : "not evicted"} / ${w(s).reconnected ? "reconnect" : "kept"}`
        : null,
    );
  }

  const Z = ctx.results.sizes;
  row("upload size (wrangler deploy --dry-run)", "worker JS KB, gzip", (s) =>
    s === "ours" ? kb(Z.ours.js.gzip) : s === "bare" ? kb(Z.bare.total.gzip) : null,
  );
  row("upload size (wrangler deploy --dry-run)", "wasm KB, gzip", (s) =>
    s === "ours" ? kb(Z.ours.wasm.gzip) : s === "bare" ? 0 : null,
  );
  row("upload size (wrangler deploy --dry-run)", "total KB raw ↓", (s) =>
    kb((s === "node" ? Z.node.total : Z[s].total).raw),
  );
  row("upload size (wrangler deploy --dry-run)", "total KB gzip ↓", (s) =>
    kb((s === "node" ? Z.node.total : Z[s].total).gzip),
  );
  row("upload size (wrangler deploy --dry-run)", "total KB gzip, --minify ↓", (s) =>
    kb((s === "node" ? Z.node.min : Z[s].min).gzip),
  );

  const C = (key) => ctx.results.cost[key];
  const per = (key, field) => (C(key) ? C(key)[field] / C(key).units : null);
  const costName = "Durable Object cost counters";
  row(costName, "rows read / written per message (echo)", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`echo/${s}`, "rowsRead"), 3)} / ${fmt(per(`echo/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "alarm sets per message (echo)", (s) =>
    s === "node" ? "n/a" : per(`echo/${s}`, "alarmSets"),
  );
  row(costName, "rows read / written per message (throughput)", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`throughput/${s}`, "rowsRead"), 3)} / ${fmt(per(`throughput/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "rows read / written per connect", (s) =>
    s === "node"
      ? "n/a"
      : `${fmt(per(`connections/${s}`, "rowsRead"), 3)} / ${fmt(per(`connections/${s}`, "rowsWritten"), 3)}`,
  );
  row(costName, "alarm sets per connect", (s) =>
    s === "node" ? "n/a" : per(`connections/${s}`, "alarmSets"),
  );
  row(costName, "attachment writes per connect", (s) =>
    s === "node" ? "n/a" : per(`connections/${s}`, "attachments"),
  );
  row(costName, "storage calls per broadcast (fan-out)", (s) =>
    s === "node"
      ? "n/a"
      : C(`fanout/${s}`)
        ? Object.values(C(`fanout/${s}`).calls).reduce((a, b) => a + b, 0) / C(`fanout/${s}`).units
        : null,
  );
  for (const mode of JOIN_MODES) {
    const key = (s) => `joins ${mode}/${s}`;
    const what = mode === "handler" ? "in one handler" : "one event each";
    const n = fmt(ctx.sizes.joins.rooms);
    row(costName, `storage calls per ${n} joins / rows written per join (${what})`, (s) => {
      if (s !== "ours") return "n/a";
      const c = C(key(s));
      if (!c) return null;
      const calls = Object.values(c.calls).reduce((a, b) => a + b, 0);
      return `${fmt((calls * ctx.sizes.joins.rooms) / c.units)} / ${fmt(c.rowsWritten / c.units)}`;
    });
  }
  const idleName = `idle (${ctx.sizes.idle.sockets} sockets, default heartbeat), per minute`;
  const I = ctx.results.idle;
  const perMin = (v) => (I ? v / I.minutes : null);
  row(idleName, "alarm runs ↓", (s) =>
    s === "ours" ? perMin(I.alarms) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "wakes (object constructed) ↓", (s) =>
    s === "ours" ? perMin(I.constructed) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "rows read ↓", (s) =>
    s === "ours" ? perMin(I.rowsRead) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "rows written ↓", (s) =>
    s === "ours" ? perMin(I.rowsWritten) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "alarm sets ↓", (s) =>
    s === "ours" ? perMin(I.alarmSets) : s === "bare" ? 0 : "n/a",
  );
  row(idleName, "attachment writes ↓", (s) =>
    s === "ours" ? perMin(I.attachments) : s === "bare" ? 0 : "n/a",
  );
  return rows;
}

export function renderTable(rows) {
  const header = [
    "workload",
    "metric",
    LABEL.ours,
    LABEL.node,
    LABEL.bare,
    "ours ÷ Node",
    "ours ÷ bare",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  let last = null;
  for (const [workload, metric, ours, node, bare] of rows) {
    const cells = [
      workload === last ? "" : workload,
      metric,
      fmt(ours),
      fmt(node),
      fmt(bare),
      ratio(ours, node),
      ratio(ours, bare),
    ];
    last = workload;
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * The rows of the shards table: [workload, metric, 1 shard, 4 shards]. Every row is
 * always there; what could not be measured shows "—".
 */
export function shardRows(ctx) {
  const rows = [];
  const row = (workload, metric, get) => {
    const values = SHARD_COUNTS.map((n) => {
      try {
        return get(ctx.results.shards[n]) ?? null;
      } catch {
        return null;
      }
    });
    rows.push([workload, metric, ...values]);
  };
  const S = ctx.sizes.shards;
  const fan = `fan-out (1 emitter, room of ${fmt(S.receivers)} over every shard, ${S.rounds * S.perRound} broadcasts)`;
  row(fan, "time until all received, p50 ms ↓", (r) => r.fanout.broadcast.p50);
  row(fan, "deliveries/s ↑", (r) => r.fanout.deliveriesPerSec);
  row(fan, "server CPU µs per delivery ↓", (r) => r.fanout.serverCpuUsPerDelivery);
  row(fan, "Durable Object requests per broadcast ↓", (r) => r.fanout.requestsPerBroadcast);
  row(fan, "… of which RPC calls between shards", (r) => r.fanout.rpcsPerBroadcast);
  const empty = `broadcast to a room without members (${fmt(S.rounds * S.emptyCasts)}, each acknowledged)`;
  row(empty, "ms per broadcast ↓", (r) => r.empty.msPerCast);
  row(empty, "server CPU µs per broadcast ↓", (r) => r.empty.serverCpuUsPerCast);
  row(empty, "RPC calls per broadcast", (r) => r.empty.rpcsPerCast);
  const tp = `throughput (${fmt(S.clients)} clients, ${S.rounds * S.seconds} s)`;
  row(tp, "events/s ↑", (r) => r.throughput.eventsPerSec);
  row(tp, "ack latency p50 ms ↓", (r) => r.throughput.latency.p50);
  row(tp, "server CPU µs per event ↓", (r) => r.throughput.serverCpuUsPerEvent);
  row(tp, "Durable Object requests per event", (r) => r.throughput.requestsPerEvent);
  return rows;
}

export function renderShardTable(rows) {
  const header = [
    "workload",
    "metric",
    ...SHARD_COUNTS.map((n) => `${n} shard${n === 1 ? "" : "s"}`),
    "4 ÷ 1",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  let last = null;
  for (const [workload, metric, one, four] of rows) {
    lines.push(
      `| ${[workload === last ? "" : workload, metric, fmt(one), fmt(four), ratio(four, one)].join(" | ")} |`,
    );
    last = workload;
  }
  return lines.join("\n");
}

/**
 * The rows of the recovery table: [metric, recovery off, recovery on]. What has no
 * meaning with the option off is null there ("n/a").
 */
export function recoveryRows(ctx) {
  const r = ctx.results.recovery;
  const S = ctx.sizes.recovery;
  const casts = (cls, get) => {
    const v = r?.casts?.[cls];
    return v ? get(v) : null;
  };
  const both = (metric, get) => [metric, casts("bench", get), casts("recover", get)];
  return [
    both(`rows written per broadcast (room of ${fmt(S.receivers)}) ↓`, (v) => v.rowsWrittenPerCast),
    both("rows read per broadcast ↓", (v) => v.rowsReadPerCast),
    both("server CPU µs per broadcast ↓", (v) => v.serverCpuUsPerCast),
    both("ms per broadcast (acknowledged) ↓", (v) => v.msPerCast),
    [`time to replay ${fmt(S.missed)} missed broadcasts, p50 ms ↓`, null, r?.replay?.p50 ?? null],
    [`rows read to replay ${fmt(S.missed)} ↓`, null, r?.replay?.rowsRead ?? null],
  ];
}

export function renderRecoveryTable(rows) {
  const header = ["metric", "recovery off", "recovery on"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  for (const [metric, off, on] of rows) {
    lines.push(`| ${[metric, off === null ? "n/a" : fmt(off), fmt(on)].join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * The rows of the parsers table: [metric, ours/default, ours/msgpack, node/default,
 * node/msgpack].
 */
export function parserRows(ctx) {
  const r = ctx.results.parsers;
  const labels = ["ours/default", "ours/msgpack", "node/default", "node/msgpack"];
  const row = (metric, get) => [metric, ...labels.map((l) => (r?.[l] ? get(r[l]) : null))];
  return [
    row("round trip p50 ms ↓", (v) => v.p50),
    row("round trip p99 ms ↓", (v) => v.p99),
    row("server CPU µs per round trip ↓", (v) => v.serverCpuUsPerRt),
  ];
}

export function renderParserTable(rows) {
  const header = [
    "metric",
    "socket.io-durable, default parser",
    "socket.io-durable, msgpack",
    "Node socket.io, default parser",
    "Node socket.io, msgpack",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  for (const [metric, ...values] of rows)
    lines.push(`| ${[metric, ...values.map((v) => fmt(v))].join(" | ")} |`);
  return lines.join("\n");
}

export function renderMicro(ctx) {
  if (!ctx.results.micro) return null;
  const lines = ["| benchmark | median time | throughput |", "| --- | --- | --- |"];
  for (const m of ctx.results.micro)
    lines.push(`| ${m.name} | ${m.median} | ${m.throughput ?? ""} |`);
  return lines.join("\n");
}

/** Facts of the run that the table cannot show. */
export function notes(ctx, servers) {
  const out = [];
  const pct = (v) => (typeof v === "number" ? `${v.toFixed(0)} %` : "—");
  const split = ctx.results.split;
  if (split) {
    const us = (v) => `${v.toFixed(1)} µs`;
    out.push(
      "echo CPU split (server CPU per sequential round trip, interleaved rounds): bare echo " +
        `${us(split.bare)}; the bare echo plus the Socket.IO core's calls for the message ` +
        `and its ack (bench worker \`CoreEcho\`) ${us(split.core)}, so the core's share is ` +
        `${us(split.core - split.bare)}; socket.io-durable ${us(split.ours)}, so the ` +
        `JavaScript layer's share (driver, app API, listener) is ${us(split.ours - split.core)}.`,
    );
  }
  for (const s of SERVERS) {
    const e = ctx.results.echo[s];
    const t = ctx.results.throughput[s];
    const f = ctx.results.fanout[s];
    if (!e && !t && !f) continue;
    const three = (x) =>
      `${pct(x?.serverCpuPct)} / ${pct(x?.clientCpuPct)} / ${pct(x?.otherCpuPct)}`;
    out.push(
      `${LABEL[s]}: CPU of the server process / the client process / everything else on the machine ` +
        `(100 % = one core of ${os.cpus().length}) — echo ${three(e)}, throughput ${three(t)}, fan-out ${three(f)}.`,
    );
  }
  for (const s of SERVERS) {
    const c = ctx.results.connections[s];
    if (!c) continue;
    const last = c.steps.at(-1);
    if (!last) continue;
    let text =
      `${LABEL[s]}: ${fmt(last.opened)} sockets open at the end (${fmt(last.stillOpen)} still connected), ` +
      `server RSS ${fmt(last.rssMb)} MB, client RSS ${fmt(last.clientRssMb)} MB, ` +
      `open-files limit of the server process ${c.limit ?? "?"}`;
    text += `, ${fmt(last.fds)} open file descriptors in the server process`;
    text += `, WebSocket extensions agreed: ${last.extensions || "none"}`;
    if (last.stopReason) text += `; stopped: ${last.stopReason}`;
    if (c.runtimeErrors) text += `; the runtime logged: ${c.runtimeErrors}`;
    if (c.countersAfterClose) text += "; its cost counters were read after closing the sockets";
    if (last.errors && Object.keys(last.errors).length) {
      text += `; connect errors: ${Object.entries(last.errors)
        .map(([m, n]) => `${n}× ${m}`)
        .join(", ")}`;
    }
    out.push(`${text}.`);
  }
  for (const [s, modes] of Object.entries(ctx.results.joins)) {
    const text = JOIN_MODES.map((mode) => {
      const j = modes[mode];
      const how = mode === "handler" ? "in one handler" : "one event each";
      return `${how} ${fmt(j.msPerJoin * 1000)} µs per join, the other client's echo p50 ${fmt(j.probe.p50)} ms / max ${fmt(j.probe.max)} ms over ${fmt(j.probe.n)} round trips`;
    }).join("; ");
    out.push(`joins, ${LABEL[s]}: ${text}.`);
  }
  for (const [key, w] of Object.entries(ctx.results.wake)) {
    const [s, size] = key.split("/");
    let text = `wake, ${LABEL[s]}, ${size} sockets: first reply ${fmt(w.ms)} ms after ${fmt(w.idleMs / 1000)} s idle, then ${fmt(w.warmMs)} ms awake`;
    if (w.reconnected)
      text += `; the first request failed (${w.firstError}) and the client reconnected`;
    if (w.cost) {
      const calls = Object.entries(w.cost.calls)
        .map(([k, v]) => `${k}×${v}`)
        .join(", ");
      text += `; storage calls during the wake: ${calls || "none"}, rows read ${w.cost.rowsRead}, written ${w.cost.rowsWritten}`;
    }
    out.push(`${text}.`);
  }
  if (ctx.results.idle) {
    const I = ctx.results.idle;
    const calls = Object.entries(I.calls)
      .map(([k, v]) => `${k}×${v}`)
      .join(", ");
    out.push(
      `idle: ${I.sockets} sockets on one object for ${fmt(I.minutes)} min (${fmt(I.stillOpen)} still connected at the end): ` +
        `${I.alarms} alarm runs, ${I.constructed} wakes, ${I.wsMessages} messages (pongs), storage calls ${calls || "none"}, ` +
        `rows read ${I.rowsRead}, written ${I.rowsWritten}, attachment writes ${I.attachments}.`,
    );
  }
  for (const [key, c] of Object.entries(ctx.results.cost)) {
    const calls = Object.entries(c.calls)
      .map(([k, v]) => `${k}×${v}`)
      .join(", ");
    out.push(
      `counters, ${key}: ${fmt(c.units)} units, ${c.wsMessages} messages, ${c.fetches} fetches, ` +
        `${c.alarms} alarm runs, ${c.constructed} constructions, storage calls ${calls || "none"}, ` +
        `rows read ${c.rowsRead}, written ${c.rowsWritten}, attachment writes ${c.attachments}.`,
    );
  }
  if (ctx.results.sizes) {
    const Z = ctx.results.sizes;
    out.push(
      `sizes: socket.io-durable worker JS ${fmt(kb(Z.ours.js.raw))} KB raw (${fmt(kb(Z.ours.minJs.raw))} KB minified) + wasm ${fmt(kb(Z.ours.wasm.raw))} KB raw; ` +
        `wrangler's own total: ${Z.ours.wrangler ? `${Z.ours.wrangler.raw} KiB / gzip ${Z.ours.wrangler.gzip} KiB` : "—"}; ` +
        `Node socket.io server bundled with esbuild (no Node runtime included) ${fmt(kb(Z.node.total.raw))} KB raw, ${fmt(kb(Z.node.min.raw))} KB minified.`,
    );
  }
  if (servers?.wrangler) {
    out.push(
      ctx.viaProxy
        ? "wrangler dev was reached through its dev proxy (the public port)."
        : "wrangler dev was reached on the socket of the workerd process that runs the objects, not through wrangler's dev proxy (a second workerd process that forwards every connection); server CPU and memory are those of the runtime process.",
    );
  }
  for (const f of ctx.results.failures) out.push(`FAILED: ${f}`);
  return out;
}

function versions(ctx) {
  const pkg = (p) => {
    try {
      return JSON.parse(fs.readFileSync(p, "utf8")).version;
    } catch {
      return "?";
    }
  };
  const rustc = (() => {
    try {
      return capture("rustc", ["--version"])
        .stdout.trim()
        .replace(/^rustc /, "");
    } catch {
      return "?";
    }
  })();
  return {
    node: capture(ctx.node, ["--version"]).stdout.trim(),
    "socket.io (server)": pkg(path.join(BENCH, "node_modules", "socket.io", "package.json")),
    "socket.io-client": pkg(path.join(BENCH, "node_modules", "socket.io-client", "package.json")),
    ws: pkg(path.join(BENCH, "node_modules", "ws", "package.json")),
    wrangler: pkg(path.join(ROOT, "node_modules", "wrangler", "package.json")),
    workerd: pkg(path.join(ROOT, "node_modules", "workerd", "package.json")),
    rustc,
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "?",
    cores: cpus.length,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(0),
    os: `${os.type()} ${os.release()}`,
  };
}

const READING_START = "<!-- reading: kept when the file is regenerated -->";
const READING_END = "<!-- end of reading -->";

export function writeReport(
  ctx,
  file,
  { table, shardTable, recoveryTable, parserTable, micro, noteLines, durationS },
) {
  const m = machine();
  const v = versions(ctx);
  let reading = `${READING_START}\n\n## Reading\n\n(No reading written for this run yet.)\n\n${READING_END}`;
  try {
    const old = fs.readFileSync(file, "utf8");
    const a = old.indexOf(READING_START);
    const b = old.indexOf(READING_END);
    if (a >= 0 && b > a) reading = old.slice(a, b + READING_END.length);
  } catch {
    // first report
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const text = `# Benchmarks

socket.io-durable (under \`wrangler dev\`) against the Node \`socket.io\` server with the
same handlers, and against the limit: a bare Durable Object WebSocket echo (hibernation
API, no protocol, no WebAssembly) in the same \`wrangler dev\`. Generated by
\`npm run bench\` (\`bench/run.mjs\`); the tables below are its output, unedited.

- Run: ${date}, ${Math.round(durationS)} s${ctx.quick ? " (--quick: tiny sizes, not meaningful)" : ""}
- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, ${m.os}; load average
  ${ctx.loadAtStart.map((x) => x.toFixed(2)).join(" ")} at the start, ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")} at the end
- Versions: ${Object.entries(v)
    .map(([k, x]) => `${k} ${x}`)
    .join(", ")}

## How to reproduce

\`\`\`sh
npm run bench              # full run (about 7 minutes); rewrites this file
npm run bench -- --quick   # every workload at a tiny size (part of npm test)
npm run bench -- --only joins   # one workload alone (writes no report unless --out)
cargo bench -p socketio-core --bench core   # the core micro-benchmarks alone
\`\`\`

\`bench/run.mjs\` installs what is missing (\`bench/package.json\`: socket.io 4.8,
socket.io-client 4.8, ws, esbuild), bundles \`bench/worker/\` once with
\`wrangler deploy --dry-run\` and serves that bundle with \`wrangler dev\` (with
\`X_LOCAL_OBSERVABILITY=false\`: wrangler's local observability adds CPU to every
WebSocket message), and starts \`bench/node-server.mjs\`. All of it listens on 127.0.0.1.
Each workload is a file of \`bench/workloads/\`; \`bench/report.mjs\` writes this page.

## Method

- **Servers.** socket.io-durable: \`SocketIoServer\` with the handlers of
  \`bench/worker/handlers.ts\` and Socket.IO's default options. Node: socket.io 4.8 on
  Node's HTTP server with the same handlers and its default options. The limit: a
  Durable Object that accepts WebSockets with the hibernation API and sends every
  message back (a message starting with \`B\` goes to every other WebSocket of the
  object instead, for fan-out). The Durable Objects are reached on the socket of the
  workerd process that runs them, not through wrangler's dev proxy (a second workerd
  process that forwards every connection and exists only under \`wrangler dev\`).
- **Clients.** Each workload's clients run in Node processes of their own:
  socket.io-client 4.8 over WebSocket only (\`transports: ["websocket"]\`), and \`ws\`
  for the bare echo, which sends the very frames socket.io-client would send and, like
  it, offers permessage-deflate (used from 1 KB on). A bare connection makes one round
  trip before it counts as open, as the Socket.IO handshake exchanges messages too.
- **Order.** Echo, throughput and fan-out alternate between the servers round by round,
  so that drift on a shared machine hits all three alike. Connections are measured one
  server after the other, socket.io-durable and the bare echo each in a \`wrangler dev\`
  started for that measurement alone (a process keeps the memory it once used).
- **Measures.** Server CPU is the CPU time of the server process (all threads, from
  \`/proc/<pid>/task/*/schedstat\`); memory its resident set (\`VmRSS\`) after 2 s of
  rest (the Node server is garbage-collected first; workerd cannot be). Fan-out time is
  from the emit until the last of the room's sockets has the broadcast; broadcasts go
  one after the other. Wake: the sockets stay idle until \`wrangler dev\` evicts the
  object (about 10 s; the wake server pings every 120 s so no heartbeat wakes it), then
  one request on one socket; "evicted" is checked by counting constructions.
- **Joins.** One socket joins 10,000 distinct rooms, twice over: through one event whose
  handler calls \`socket.join\` once per room, and through 10,000 \`join\` events sent at
  once, each acknowledged (the time runs until the last acknowledgement). Meanwhile a
  second client of the same server, in a process of its own, makes sequential echo round
  trips; the longest of them is how long the joins held up everyone else. Each round
  uses new room names on the same socket; the bare echo has no rooms.
- **Cost counters.** The bench worker replaces the methods of the object's
  \`ctx.storage\` (and \`storage.sql\`, \`storage.kv\`) by counting ones before the
  server is constructed: calls per method, rows from the \`sql.exec\` cursors
  (\`rowsRead\`, \`rowsWritten\`), one row per key for the key-value calls. It counts
  \`alarm()\` runs, constructions and \`serializeAttachment\` calls (free, but at most
  2 KB per socket). wrangler dev's own SQL (it records each object's name) is left out.
- **Reading the table.** ↓ lower is better, ↑ higher is better; the ratios are
  socket.io-durable ÷ the other server. "n/a": the metric has no meaning there.

## Results

${table}

### Shards

The same socket.io-durable server on 1 and on 4 Durable Objects
(\`routeSocketIo(request, env.X, { shards })\`), with clients spread by the router.
Under \`wrangler dev\` all objects run in one workerd process on this machine: 4 shards
cannot add capacity here, so these rows show what the RPC between shards costs. In
production each shard is an object of its own, on its own thread, often on another
machine: a room of N members on 4 shards is 4 objects sending N/4 frames each, in
parallel, after one RPC hop. A Durable Object request is a WebSocket message, an HTTP
request or an RPC call received (Cloudflare bills each RPC call as a request; incoming
WebSocket messages count 20:1).

${shardTable}

### Connection state recovery

The same server with Socket.IO's defaults and with \`connectionStateRecovery: {}\`
(two-minute window): broadcasts to a room, each acknowledged to the emitter, with the
rows the object's SQLite storage wrote and read (from the cost counters); and a client
that lost its transport while another sent it broadcasts, from its reconnect until the
last missed broadcast is in (socket.io-client over WebSocket).

${recoveryTable}

### Parsers (binary-heavy events)

Acknowledged round trips of one client over WebSocket, each event carrying a 16 KiB
buffer, four 1 KiB buffers and a few small fields, echoed back whole by the
acknowledgement: with Socket.IO's default parser (a text packet and five binary
attachments each way) and with \`socket.io-msgpack-parser\` (one binary frame each way;
\`parser: "msgpack"\` on socket.io-durable), on both servers.

${parserTable}

${micro ? `## Core micro-benchmarks (\`cargo bench -p socketio-core --bench core\`)\n\nNative code with the workspace's release profile (\`opt-level = "z"\`, as the WebAssembly build), 1 s warm-up and 2 s of measurement per benchmark.\n\n${micro}\n\n` : ""}## Notes of the run

${noteLines.map((n) => `- ${n}`).join("\n")}

## What is not measured

- Billing as Cloudflare computes it: request units (incoming WebSocket messages count
  20:1), duration (GB-s), and the storage the runtime uses on its own (alarm
  bookkeeping, hibernated WebSockets and their attachments) are not visible to a
  worker; the counters are the calls the code makes.
- Production: \`wrangler dev\` runs the object on this machine, with the whole isolate
  kept when an object is evicted. In production client, Worker and object may be far
  apart, and a wake may also start a new isolate (compiling the WebAssembly module),
  which this wake does not include.
- Beyond about 9,900 sockets per process: the open-files limit of this machine (20,000,
  not raisable here) stops workerd first, which takes two descriptors per WebSocket.
- The CPU that permessage-deflate costs is not separated from the rest; its memory is
  (the "without permessage-deflate" row).

${reading}
`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  log(`wrote ${path.relative(ROOT, file)}`);
}
