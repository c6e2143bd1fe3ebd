/**
 * The Web Worker constructor of the runtime, captured before anything replaces it: the
 * threaded wasm backend's emscripten glue believes Deno is Node and sets `globalThis.Worker`
 * to `node:worker_threads`' Worker, which refuses the module URLs Deno's workers take.
 * `wasm_threads.ts` imports this module first, so the capture happens before the glue runs.
 *
 * @module
 */

/** Deno's own `Worker` (module workers, `new URL(…)` specifiers). */
export const WebWorker: typeof Worker = globalThis.Worker;
