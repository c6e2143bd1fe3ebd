/**
 * Multi-threaded tfjs wasm under Deno.
 *
 * Stock tfjs-backend-wasm 4.22 believes Deno is Node (`IS_NODE`), so it turns threads off; and
 * when forced on it hands `node:worker_threads` a `blob:` URL for the pthread worker, which
 * fails. The recipe here:
 * 1. write the pthread worker script (tfjs's own `wasmWorkerContents`, with a prelude that
 *    makes Deno's getter-only worker globals such as `location` writable) and the main script
 *    (`var WasmBackendModuleThreadedSimd = <factory source>`, which each worker evaluates) to
 *    real files, as `.cjs` so Deno runs the worker as CommonJS;
 * 2. instantiate the threaded SIMD factory ourselves with `locateFile` pointing at those files
 *    (the `.wasm` is found next to the factory, in `node_modules`);
 * 3. tfjs's C++ caps the pool at `logical cores / 2`, read once at module start; `os.cpus()` is
 *    widened while the module starts so the requested count is honoured;
 * 4. register the result as the `wasm` backend (same name, so tfjs's wasm kernels apply).
 *
 * @module
 */
import "./web_worker.ts"; // capture Deno's Worker before the emscripten glue replaces it
import * as tf from "@tensorflow/tfjs-core";
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import factoryModule from "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js";
import { wasmWorkerContents } from "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";
import os from "node:os";
import { writeFileAtomicSync } from "../io/atomic.ts";

const TFJS_WASM_VERSION = "4.22.0";

/** The emscripten factory (a CommonJS export; its bundled `.d.ts` describes no call). */
const factory = factoryModule as unknown as (config: {
  locateFile: (path: string, prefix: string) => string;
  mainScriptUrlOrBlob: string;
}) => Promise<WasmModule>;

/** Deno's worker global has getter-only `location` (and friends); emscripten assigns them. */
const WORKER_PRELUDE = 'for (const k of ["location", "self", "postMessage", "performance", ' +
  '"importScripts", "Worker"]) { try { Object.defineProperty(globalThis, k, { value: ' +
  "globalThis[k], writable: true, configurable: true, enumerable: true }); } catch (_) {} }\n";

/** Writes `text` to `path` unless it already holds exactly that. */
function ensureFile(path: string, text: string) {
  try {
    if (Deno.readTextFileSync(path) === text) return;
  } catch { /* missing: write it */ }
  writeFileAtomicSync(path, text);
}

/** The two real files the pthread workers need, in a per-version folder under the temp dir. */
function writeThreadScripts(): { worker: string; main: string } {
  const dir = `${os.tmpdir()}/ssd-tfjs-wasm-${TFJS_WASM_VERSION}`;
  Deno.mkdirSync(dir, { recursive: true });
  const worker = `${dir}/tfjs-backend-wasm-threaded-simd.worker.cjs`;
  const main = `${dir}/tfjs-backend-wasm-threaded-simd.main.js`;
  // tfjs escapes newlines the same way before making its Blob.
  ensureFile(worker, WORKER_PRELUDE + wasmWorkerContents.replace(/\n/g, "\\n"));
  ensureFile(main, `var WasmBackendModuleThreadedSimd = ${factory.toString()}`);
  return { worker, main };
}

/** Starts the threaded SIMD wasm module with `threads` pool threads and wraps it for tfjs. */
async function createThreadedBackend(threads: number): Promise<tf.KernelBackend> {
  const { worker, main } = writeThreadScripts();
  const cpus = os.cpus;
  const widened = () => Array.from({ length: 2 * threads }, () => cpus()[0]);
  (os as { cpus: () => unknown[] }).cpus = widened;
  let module: WasmModule;
  try {
    module = await factory({
      locateFile: (path: string, prefix: string) =>
        path.endsWith(".worker.js") ? worker : prefix + path,
      mainScriptUrlOrBlob: main,
    });
  } finally {
    (os as { cpus: typeof cpus }).cpus = cpus;
  }
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
  setThreadsCount(threads);
  // deno-lint-ignore no-explicit-any
  const backend = new BackendWasm(module as any); // starts the pool's threads
  unrefPool(module);
  return backend;
}

/**
 * Lets the process end while the pthread pool idles. Emscripten unrefs its Node workers only on
 * a "loaded" message Deno's `worker_threads` does not deliver the way Node does, so without this
 * a script that used threaded wasm never exits. tfjs ops block the main thread until the pool
 * is done, so an unreferenced worker is never left with work.
 */
function unrefPool(module: WasmModule): void {
  const pool = module.PThread;
  if (pool === undefined) return;
  const unref = (w: { unref?: () => void }) => w.unref?.();
  [...pool.unusedWorkers, ...pool.runningWorkers].forEach(unref);
  const allocate = pool.allocateUnusedWorker.bind(pool);
  pool.allocateUnusedWorker = () => {
    allocate();
    pool.unusedWorkers.forEach(unref);
  };
}

/** The emscripten module as far as this file uses it. */
interface WasmModule {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => unknown;
  tfjs?: Record<string, unknown>;
  /** Emscripten's pthread pool (`Module["PThread"]`). */
  PThread?: {
    unusedWorkers: { unref?: () => void }[];
    runningWorkers: { unref?: () => void }[];
    allocateUnusedWorker: () => void;
  };
}

/**
 * Replaces tfjs's `wasm` backend factory with the multi-threaded one. If that fails to start,
 * the stock (single-threaded SIMD) factory is put back and the error rethrown, so the caller
 * can `tf.setBackend("wasm")` again for one thread.
 *
 * @param threads pool size, 1–8 (tfjs pre-creates 8 workers)
 * @returns tfjs's stock factory, to restore later
 */
export function registerThreadedWasm(threads: number): () => unknown {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new RangeError(`Cannot start wasm threads: expected 1..8 threads, got ${threads}`);
  }
  const stock = tf.findBackendFactory("wasm");
  if (stock === null) throw new Error("tfjs-backend-wasm is not registered");
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    try {
      return await createThreadedBackend(threads);
    } catch (err) {
      tf.removeBackend("wasm");
      tf.registerBackend("wasm", stock, 2);
      throw err;
    }
  }, 2);
  return stock;
}
