// Values handed from the global setup to the test files through vitest's
// provide/inject.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the fixture worker, e.g. http://127.0.0.1:8787 (no trailing slash). */
    fixtureUrl: string;
  }
}
