// A benchmark client: one Node process, started by bench/run.mjs with an IPC channel,
// holding the connections of one workload against one server. The real
// socket.io-client talks to the Socket.IO servers; a raw `ws` client to the bare echo.
//
// Requests:  { id, cmd, args }   Replies: { id, ok: true, result } | { id, ok: false, error }
//
// Commands (see `commands` below): connect, echo, throughput, casts, fanSetup, fanout, joins,
// probeStart, probeStop, open, wakePing, usage, closeAll.

import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import WebSocket from "ws";

/** A target: { kind: "sio" | "bare", url, query, path?, parser?: "msgpack" }. */

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The text frame socket.io-client sends for `emit("echo-ack", payload, ack)`. */
function sioFrame(event, payload, ackId = 1) {
  return `42${ackId}${JSON.stringify([event, payload])}`;
}

// ---- connections -----------------------------------------------------------------

/** A socket.io-client socket with request/ack helpers. */
class SioConn {
  constructor(socket) {
    this.socket = socket;
  }

  static open(target, timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = io(target.url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        timeout: timeoutMs,
        query: target.query ?? {},
        ...(target.path ? { path: target.path } : {}),
        ...(target.parser === "msgpack" ? { parser: msgpackParser } : {}),
        // socket.io-client's default (permessage-deflate offered, used from 1 KB), or none.
        ...(target.deflate === false ? { perMessageDeflate: false } : {}),
      });
      const onError = (error) => {
        socket.off("connect", onConnect);
        socket.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onConnect = () => {
        socket.off("connect_error", onError);
        resolve(new SioConn(socket));
      };
      socket.once("connect", onConnect);
      socket.once("connect_error", onError);
    });
  }

  /** Emits `echo-ack` and resolves with the acknowledgement. */
  request(payload) {
    return new Promise((resolve, reject) => {
      const onDisconnect = (reason) => reject(new Error(`disconnected: ${reason}`));
      this.socket.once("disconnect", onDisconnect);
      this.socket.emit("echo-ack", payload, (answer) => {
        this.socket.off("disconnect", onDisconnect);
        resolve(answer);
      });
    });
  }

  join(room) {
    return new Promise((resolve) => this.socket.emit("join", room, resolve));
  }

  /** Asks the server to join the `count` rooms `<prefix>0` … in one handler; resolves with its room count. */
  joinMany(prefix, count) {
    return new Promise((resolve) => this.socket.emit("join-many", prefix, count, resolve));
  }

  /** Asks the server to broadcast `payload` as `event` to `room`. */
  cast(room, event, payload) {
    this.socket.emit("cast", room, event, payload);
  }

  onBroadcast(event, fn) {
    this.socket.on(event, fn);
  }

  /** Reconnects after the server closed the connection. */
  reconnect(timeoutMs) {
    return withTimeout(
      new Promise((resolve, reject) => {
        this.socket.once("connect", resolve);
        this.socket.once("connect_error", reject);
        this.socket.connect();
      }),
      timeoutMs,
      "reconnect",
    );
  }

  get connected() {
    return this.socket.connected;
  }

  /** The WebSocket extensions the server agreed to ("" for none). */
  get extensions() {
    return this.socket.io.engine?.transport?.ws?.extensions ?? "";
  }

  close() {
    this.socket.close();
  }
}

/** A raw WebSocket to the bare echo: answers come back in order. */
class BareConn {
  constructor(ws) {
    this.ws = ws;
    this.waiting = [];
    this.broadcastHandler = null;
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? data : data.toString();
      if (typeof text === "string" && text.startsWith("B")) {
        this.broadcastHandler?.(text);
        return;
      }
      this.waiting.shift()?.resolve(text);
    });
    ws.on("close", () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error("closed"));
    });
  }

  static open(target, timeoutMs) {
    return new Promise((resolve, reject) => {
      const query = new URLSearchParams(target.query ?? {}).toString();
      const url = `${target.url.replace(/^http/, "ws")}/${target.path ?? "bare"}/?${query}`;
      // permessage-deflate offered as socket.io-client offers it (used from 1 KB), or none.
      const ws = new WebSocket(url, {
        handshakeTimeout: timeoutMs,
        perMessageDeflate: target.deflate === false ? false : { threshold: 1024 },
      });
      ws.once("open", () => {
        ws.off("error", reject);
        // One round trip before the connection counts as open, as the Socket.IO
        // handshake exchanges messages too (the runtime allocates buffers for a
        // WebSocket once it carries messages).
        const conn = new BareConn(ws);
        withTimeout(conn.request({ seq: 0, text: "open" }), timeoutMs, "first echo").then(
          () => resolve(conn),
          (error) => {
            ws.close();
            reject(error);
          },
        );
      });
      ws.once("error", reject);
    });
  }

  /** Sends the frame socket.io-client would send for the same request; resolves with the echo. */
  request(payload) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.ws.send(sioFrame("echo-ack", payload));
    });
  }

  join() {
    return Promise.resolve();
  }

  /** The bare object sends a frame starting with `B` to every other socket. */
  cast(_room, event, payload) {
    this.ws.send(`B${JSON.stringify(["cast", event, payload])}`);
  }

  onBroadcast(_event, fn) {
    this.broadcastHandler = (text) => fn(JSON.parse(text.slice(1))[2]);
  }

  reconnect() {
    return Promise.reject(new Error("the bare echo does not reconnect"));
  }

  get connected() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get extensions() {
    return this.ws.extensions;
  }

  close() {
    this.ws.close();
  }
}

function openConn(target, timeoutMs = 20_000) {
  return target.kind === "bare"
    ? BareConn.open(target, timeoutMs)
    : SioConn.open(target, timeoutMs);
}

// ---- state of this process -----------------------------------------------------------

/** @type {(SioConn | BareConn)[]} */
let conns = [];
let target = null;
/** Fan-out: the emitter (not in the room) and the receivers. */
let fan = null;
/** The echo probe running on the first connection (see probeStart). */
let probe = null;

/**
 * Opens connections up to `total` with at most `concurrency` handshakes in flight.
 * Stops early after `maxFailures` failures or at `deadlineMs`; says why.
 */
async function openMany(total, { concurrency = 50, maxFailures = 20, deadlineMs = 120_000 }) {
  const started = performance.now();
  const deadline = Date.now() + deadlineMs;
  let failures = 0;
  const errors = new Map();
  let stopReason = null;
  let next = conns.length;
  const worker = async () => {
    while (next < total && stopReason === null) {
      next++;
      try {
        conns.push(await openConn(target));
      } catch (error) {
        next--;
        failures++;
        const message = error?.message ?? String(error);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        if (failures >= maxFailures) stopReason = `${failures} failed connects (${message})`;
        await sleep(50);
      }
      if (Date.now() > deadline && stopReason === null && conns.length < total) {
        stopReason = `time limit of ${Math.round(deadlineMs / 1000)} s`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    opened: conns.length,
    extensions: conns[0]?.extensions ?? null,
    seconds,
    failures,
    errors: Object.fromEntries(errors),
    stopReason,
  };
}

// ---- commands ------------------------------------------------------------------------

const PAYLOAD = { seq: 0, text: "hello, world" };

/** The binary-heavy payload of the `parsers` workload: 16 KiB and four 1 KiB buffers. */
const BLOB = Buffer.alloc(16 * 1024, 0xab);
const PARTS = Array.from({ length: 4 }, (_, i) => Buffer.alloc(1024, i));
function binaryPayload(seq) {
  return { seq, kind: "frame", blob: BLOB, parts: PARTS, meta: { w: 640, h: 480 } };
}

const commands = {
  /** Opens `count` connections to `target` (the first ones of this process). */
  async connect({ target: t, count = 1, concurrency = 50, deadlineMs = 120_000 }) {
    target = t;
    const r = await openMany(count, { concurrency, deadlineMs });
    if (r.opened < count) {
      throw new Error(`opened ${r.opened} of ${count}: ${r.stopReason ?? "unknown"}`);
    }
    return r;
  },

  /**
   * Sequential round trips on the first connection; returns every latency in ms. With
   * `binary`, the payload is binary-heavy (and the answer is checked).
   */
  async echo({ count, warmup = 0, binary = false }) {
    const c = conns[0];
    const payload = (seq) => (binary ? binaryPayload(seq) : { ...PAYLOAD, seq });
    const check = (answer) => {
      if (binary && answer?.blob?.byteLength !== BLOB.length) {
        throw new Error("the binary payload did not come back whole");
      }
    };
    for (let i = 0; i < warmup; i++) check(await c.request(payload(i)));
    const latencies = new Array(count);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      check(await c.request(payload(i)));
      latencies[i] = performance.now() - t0;
    }
    return { latencies, seconds: (performance.now() - started) / 1000 };
  },

  /** Every connection sends its next request when the last one is answered, for `seconds`. */
  async throughput({ seconds }) {
    let events = 0;
    let stop = false;
    const sample = [];
    const loop = async (c) => {
      let i = 0;
      while (!stop) {
        const t0 = performance.now();
        await c.request({ ...PAYLOAD, seq: i++ });
        if (!stop) {
          events++;
          if ((events & 15) === 0) sample.push(performance.now() - t0);
        }
      }
    };
    const started = performance.now();
    const loops = conns.map(loop);
    await sleep(seconds * 1000);
    stop = true;
    const elapsed = (performance.now() - started) / 1000;
    await withTimeout(Promise.all(loops), 30_000, "throughput drain");
    return { events, seconds: elapsed, latencies: sample };
  },

  /** `count` broadcasts to `room` from the first connection, each acknowledged in turn. */
  async casts({ room, count }) {
    const c = conns[0];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await withTimeout(
        new Promise((resolve) => c.socket.emit("cast", room, "tick", { seq: i }, resolve)),
        30_000,
        `cast ${i}`,
      );
    }
    return { seconds: (performance.now() - t0) / 1000 };
  },

  /** Joins every connection but the first to `room`; the first one is the emitter. */
  async fanSetup({ room }) {
    const [emitter, ...receivers] = conns;
    await Promise.all(receivers.map((c) => c.join(room)));
    fan = { room, emitter, receivers, counts: new Map(), done: null };
    for (const c of receivers) {
      c.onBroadcast("tick", (payload) => {
        const seq = payload?.seq;
        const n = (fan.counts.get(seq) ?? 0) + 1;
        fan.counts.set(seq, n);
        if (n === fan.receivers.length) fan.done?.(seq);
      });
    }
    return { receivers: receivers.length };
  },

  /** `broadcasts` broadcasts one after the other; each waits until every receiver has it. */
  async fanout({ broadcasts, timeoutMs = 30_000, first = 0 }) {
    const times = [];
    const started = performance.now();
    for (let i = 0; i < broadcasts; i++) {
      const seq = first + i;
      const t0 = performance.now();
      const complete = new Promise((resolve) => {
        fan.done = (s) => {
          if (s === seq) resolve();
        };
      });
      fan.emitter.cast(fan.room, "tick", { seq, text: "x".repeat(64) });
      try {
        await withTimeout(complete, timeoutMs, `broadcast ${seq}`);
      } catch (error) {
        throw new Error(
          `${error.message}: ${fan.counts.get(seq) ?? 0} of ${fan.receivers.length} received`,
        );
      }
      times.push(performance.now() - t0);
      fan.counts.delete(seq);
    }
    return { times, seconds: (performance.now() - started) / 1000 };
  },

  /**
   * Connection state recovery: the first connection joins `room`, gets one broadcast
   * (so that it has an offset), loses its transport; the second sends `count`
   * broadcasts to `room`, each acknowledged; then the first reconnects. The time runs
   * from its reconnect until the last missed broadcast is in.
   */
  async replay({ room, count, timeoutMs = 60_000 }) {
    const [away, sender] = conns;
    await away.join(room);
    let got = 0;
    let target = 1;
    let done = () => {};
    const onMissed = () => {
      got++;
      if (got >= target) done();
    };
    away.onBroadcast("missed", onMissed);
    const cast = (seq) =>
      new Promise((resolve) => sender.socket.emit("cast", room, "missed", { seq }, resolve));
    const until = (n, what) => {
      target = n;
      return withTimeout(
        new Promise((resolve) => {
          done = resolve;
          if (got >= n) resolve();
        }),
        timeoutMs,
        what,
      );
    };
    // One broadcast first, so that the client has an offset to come back with.
    const first = until(1, "the first broadcast");
    await cast(-1);
    await first;
    const gone = new Promise((resolve) => away.socket.once("disconnect", resolve));
    away.socket.io.engine.close();
    await withTimeout(gone, timeoutMs, "disconnect");
    for (let i = 0; i < count; i++) await cast(i);
    const all = until(1 + count, `${count} missed broadcasts`);
    const t0 = performance.now();
    await away.reconnect(timeoutMs);
    await all;
    const ms = performance.now() - t0;
    away.socket.off("missed", onMissed);
    return { ms, recovered: away.socket.recovered === true, received: got - 1 };
  },

  /**
   * The first connection joins `count` distinct rooms `<prefix>0` …: with `mode`
   * "handler", one `join-many` event whose handler calls `socket.join` `count` times;
   * with "events", `count` `join` events sent at once, each acknowledged. Resolves when
   * the (last) acknowledgement is in.
   */
  async joins({ prefix, count, mode, timeoutMs = 120_000 }) {
    const c = conns[0];
    const t0 = performance.now();
    let rooms = null;
    if (mode === "handler") {
      rooms = await withTimeout(c.joinMany(prefix, count), timeoutMs, "join-many");
    } else {
      const acks = [];
      for (let i = 0; i < count; i++) acks.push(c.join(`${prefix}${i}`));
      await withTimeout(Promise.all(acks), timeoutMs, `${count} join events`);
    }
    return { ms: performance.now() - t0, rooms };
  },

  /**
   * Starts sequential echo round trips on the first connection, until probeStop: how
   * long this client waits for the server while another client keeps it busy.
   */
  async probeStart() {
    const c = conns[0];
    const state = { stop: false, latencies: [], loop: null };
    state.loop = (async () => {
      let i = 0;
      while (!state.stop) {
        const t0 = performance.now();
        await c.request({ ...PAYLOAD, seq: i++ });
        state.latencies.push(performance.now() - t0);
      }
    })();
    probe = state;
    // One answer first, so that the probe is known to run.
    while (state.latencies.length === 0) await sleep(5);
    return {};
  },

  /** Stops the probe; returns its latencies (ms), the last one completed. */
  async probeStop() {
    const state = probe;
    probe = null;
    state.stop = true;
    await withTimeout(state.loop, 120_000, "probe drain");
    return { latencies: state.latencies };
  },

  /** Opens connections until there are `total` (or it stops: see openMany). */
  async open({ target: t, total, concurrency, deadlineMs, maxFailures }) {
    if (t) target = t;
    return openMany(total, { concurrency, deadlineMs, maxFailures });
  },

  /**
   * One request on the first connection after a long idle time. When the server
   * closed the connection instead of answering, reconnects and asks again; the time
   * covers it all.
   */
  async wakePing({ timeoutMs = 30_000 }) {
    const c = conns[0];
    const t0 = performance.now();
    let reconnected = false;
    let firstError = null;
    try {
      await withTimeout(c.request({ ...PAYLOAD, seq: -1 }), timeoutMs, "wake reply");
    } catch (error) {
      firstError = error.message;
      if (c instanceof BareConn) throw error;
      reconnected = true;
      if (!c.connected) await c.reconnect(timeoutMs);
      await withTimeout(c.request({ ...PAYLOAD, seq: -2 }), timeoutMs, "reply after reconnect");
    }
    const ms = performance.now() - t0;
    // A second request, with the object awake, for comparison.
    const t1 = performance.now();
    await withTimeout(c.request({ ...PAYLOAD, seq: -3 }), timeoutMs, "warm reply");
    return { ms, warmMs: performance.now() - t1, reconnected, firstError };
  },

  /** CPU time and memory of this process. */
  async usage() {
    const cpu = process.cpuUsage();
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssBytes: process.memoryUsage.rss(),
      open: conns.filter((c) => c.connected).length,
    };
  },

  async closeAll({ waitMs = 0 }) {
    for (const c of conns) c.close();
    const n = conns.length;
    conns = [];
    fan = null;
    if (waitMs) await sleep(waitMs);
    return { closed: n };
  },
};

process.on("message", async (message) => {
  const { id, cmd, args } = message;
  try {
    const fn = commands[cmd];
    if (!fn) throw new Error(`unknown command ${cmd}`);
    const result = await fn(args ?? {});
    process.send({ id, ok: true, result });
  } catch (error) {
    process.send({ id, ok: false, error: error?.message ?? String(error) });
  }
});

// Ends with the benchmark: the IPC channel closes when the parent goes away.
process.on("disconnect", () => process.exit(0));
