// Tests that run inside workerd, with the Durable Objects of test/workerd/worker.ts
// (`npm test` runs them after the Node-side suites of the root vitest.config.ts).
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: here("./wrangler.jsonc") } })],
  test: {
    root: here("."),
    include: ["**/*.test.ts"],
    testTimeout: 20_000,
  },
});
