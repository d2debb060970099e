// Starts the fixture worker once for the whole run and hands its URL to the
// test files (`inject("fixtureUrl")`).
import type { TestProject } from "vitest/node";
import "./context.js";
import { startWrangler } from "./wrangler.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wrangler = await startWrangler({ config: "test/fixture/wrangler.jsonc" });
  project.provide("fixtureUrl", wrangler.url);
  return async () => {
    await wrangler.stop();
    if (process.env.FIXTURE_LOG === "1") {
      process.stdout.write(`--- wrangler output ---\n${wrangler.output()}\n`);
    }
  };
}
