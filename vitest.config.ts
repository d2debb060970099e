import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
    // test/workerd/ runs inside workerd, with its own config (test/workerd/vitest.config.ts).
    exclude: ["**/node_modules/**", "**/.tools/**", "**/.wrangler/**", "test/workerd/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    // One wrangler instance serves every test file; the machine is small and
    // the heartbeat tests are timing-sensitive, so files run one at a time.
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
