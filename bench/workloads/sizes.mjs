// Upload sizes: what `wrangler deploy` would upload, and the Node server bundled.

import fs from "node:fs";
import path from "node:path";
import { BENCH } from "../common.mjs";
import { dryRun, gzipSize } from "../servers.mjs";

/** Writes a small wrangler config (with absolute paths) for a size measurement. */
function sizeConfig(dir, name, main, className, binding) {
  const file = path.join(dir, `${name}.jsonc`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      name,
      main,
      compatibility_date: "2026-11-01",
      durable_objects: { bindings: [{ name: binding, class_name: className }] },
      migrations: [{ tag: "v1", new_sqlite_classes: [className] }],
    }),
  );
  return file;
}

/** Upload sizes: the minimal socket.io-durable and bare workers; Node's server bundled. */
export async function measureSizes(ctx, tmp) {
  const oursConfig = sizeConfig(
    tmp,
    "size-ours",
    path.join(BENCH, "worker", "size-ours.ts"),
    "BenchSocketIo",
    "BENCH",
  );
  const bareConfig = sizeConfig(
    tmp,
    "size-bare",
    path.join(BENCH, "worker", "size-bare.ts"),
    "BareEcho",
    "BARE",
  );
  const [ours, oursMin, bare, bareMin] = await Promise.all([
    dryRun(ctx, oursConfig, path.join(tmp, "size-ours")),
    dryRun(ctx, oursConfig, path.join(tmp, "size-ours-min"), ["--minify"]),
    dryRun(ctx, bareConfig, path.join(tmp, "size-bare")),
    dryRun(ctx, bareConfig, path.join(tmp, "size-bare-min"), ["--minify"]),
  ]);
  const esbuild = await import(path.join(BENCH, "node_modules", "esbuild", "lib", "main.js"));
  const node = {};
  for (const minify of [false, true]) {
    const result = await esbuild.build({
      entryPoints: [path.join(BENCH, "node-server.mjs")],
      bundle: true,
      platform: "node",
      format: "esm",
      minify,
      write: false,
      logLevel: "silent",
      external: ["bufferutil", "utf-8-validate"],
    });
    const buffer = Buffer.from(result.outputFiles[0].contents);
    node[minify ? "min" : "plain"] = { raw: buffer.length, gzip: gzipSize(buffer) };
  }
  const sum = (files, filter = () => true) =>
    Object.entries(files)
      .filter(([name]) => filter(name))
      .reduce((a, [, f]) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const isWasm = (name) => name.endsWith(".wasm");
  return {
    ours: {
      js: sum(ours.files, (n) => !isWasm(n)),
      wasm: sum(ours.files, isWasm),
      total: sum(ours.files),
      min: sum(oursMin.files),
      minJs: sum(oursMin.files, (n) => !isWasm(n)),
      wrangler: ours.wranglerTotal,
    },
    bare: { total: sum(bare.files), min: sum(bareMin.files), wrangler: bare.wranglerTotal },
    node: { total: node.plain, min: node.min },
  };
}
