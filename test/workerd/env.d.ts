// The bindings of test/workerd/wrangler.jsonc, as `env` of `cloudflare:workers` sees them.
declare namespace Cloudflare {
  interface Env {
    HIB: DurableObjectNamespace<import("./worker.js").HibServer>;
    BROKEN: DurableObjectNamespace<import("./worker.js").BrokenServer>;
    BROKEN_LATER: DurableObjectNamespace<import("./worker.js").LateBrokenServer>;
    DEBUGGED: DurableObjectNamespace<import("./worker.js").DebugServer>;
    WATCHED: DurableObjectNamespace<import("./worker.js").WatchedServer>;
  }
}
