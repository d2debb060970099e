// The bindings of test/workerd/wrangler.jsonc, as `env` of `cloudflare:workers` sees them.
declare namespace Cloudflare {
  interface Env {
    HIB: DurableObjectNamespace<import("./worker.js").HibServer>;
  }
}
