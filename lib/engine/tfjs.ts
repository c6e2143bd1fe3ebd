/**
 * Chooses and starts the tfjs backend: `webgpu`, `wasm` (multi-threaded under Deno, see
 * `wasm_threads.ts`) or `cpu`; `auto` takes WebGPU only on a real (non-fallback) GPU adapter,
 * else wasm. With `gradients: true` it also loads the gradients training needs (see
 * `gradients.ts`: wasm lacks `Conv2DBackpropFilter`; no backend differentiates a dilated conv).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendInfo, initBackend } from "./tfjs.ts";
 * const info = await initBackend("cpu");
 * assert.equal(info.name, "cpu");
 * assert.equal(backendInfo().name, "cpu");
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerTrainingGradients } from "./gradients.ts";
import { chunkWebGpuAddN } from "./webgpu_addn.ts";

/** What `--backend` accepts. */
export type BackendChoice = "auto" | "wasm" | "webgpu" | "cpu";

/** The WebGPU adapter as Deno reports it. */
export interface AdapterInfo {
  /** `GPUAdapterInfo.vendor` (may be empty). */
  vendor: string;
  /** `GPUAdapterInfo.architecture` (may be empty). */
  architecture: string;
  /** `GPUAdapterInfo.device` (may be empty). */
  device: string;
  /** `GPUAdapterInfo.description`: the driver's name for the GPU (may be empty). */
  description: string;
  /** True for a software adapter (Mesa llvmpipe, SwiftShader): WebGPU on the CPU. */
  isFallbackAdapter: boolean;
  /** Adapter limit, in bytes: the largest storage buffer one binding can see. */
  maxStorageBufferBindingSize: number;
  /** Adapter limit, in bytes: the largest buffer. */
  maxBufferSize: number;
  /** Adapter limit, in bytes: workgroup shared memory. */
  maxComputeWorkgroupStorageSize: number;
  /** Adapter limit: invocations in one workgroup. */
  maxComputeInvocationsPerWorkgroup: number;
}

/** The running backend. */
export interface BackendInfo {
  /** The tfjs backend that runs. */
  name: "wasm" | "webgpu" | "cpu";
  /** Threads computing kernels (wasm pool size; 1 for cpu; 0 = GPU). */
  threads: number;
  /** wasm SIMD in use. */
  simd: boolean;
  /** The adapter, for webgpu. */
  adapter?: AdapterInfo;
  /** Why the backend is not what was asked for, or why wasm runs on one thread. */
  note?: string;
  /** Milliseconds the backend took to start. */
  initMs: number;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** wasm threads, 1–8; default: logical cores, at most 8. */
  threads?: number;
  /** Load tfjs's gradients and the conv gradients of `gradients.ts`, for training (~1 s). */
  gradients?: boolean;
}

let current: BackendInfo | null = null;

/**
 * Asks Deno for a WebGPU adapter. Resolves to null when there is none (no `navigator.gpu`, no
 * driver); never throws.
 *
 * Vulkan's loader prints "XDG_RUNTIME_DIR is invalid or not set" on stderr when that variable
 * is missing (containers, CI); it is pointed at the temp folder first, as a login would.
 */
export async function probeWebGpuAdapter(): Promise<AdapterInfo | null> {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR") === undefined) {
      Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("TMPDIR") ?? "/tmp");
    }
    const gpu = (navigator as { gpu?: GPU }).gpu;
    if (gpu === undefined) return null;
    const adapter = await gpu.requestAdapter();
    if (adapter === null) return null;
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const legacy = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
    return {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean(info.isFallbackAdapter ?? legacy),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    };
  } catch {
    return null;
  }
}

/** Whether this runtime validates a wasm SIMD module (the probe tfjs itself uses). */
export function wasmSimdSupported(): boolean {
  return WebAssembly.validate(
    new Uint8Array([
      0,
      97,
      115,
      109,
      1,
      0,
      0,
      0,
      1,
      4,
      1,
      96,
      0,
      0,
      3,
      2,
      1,
      0,
      10,
      9,
      1,
      7,
      0,
      65,
      0,
      253,
      15,
      26,
      11,
    ]),
  );
}

function defaultThreads(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency ?? 1));
}

/**
 * The permissions wasm threads need that this process lacks, each with why: writing their
 * scripts to the temp folder (`--allow-write`) and counting the cores (`--allow-sys`).
 */
function missingThreadPermissions(): string[] {
  let tmp = "/tmp";
  try {
    tmp = Deno.env.get("TMPDIR") ?? tmp;
  } catch { /* no env permission: the default */ }
  const missing: string[] = [];
  if (Deno.permissions.querySync({ name: "write", path: tmp }).state !== "granted") {
    missing.push("--allow-write (to write their scripts to the temp folder)");
  }
  if (Deno.permissions.querySync({ name: "sys", kind: "cpus" }).state !== "granted") {
    missing.push("--allow-sys (to count the cores)");
  }
  return missing;
}

/**
 * Throws one clear error when Deno may not read the wasm backend's `.wasm` files (in
 * `node_modules`), instead of emscripten's abort messages.
 */
function requireWasmRead(): void {
  const dir = new URL("../../node_modules/", import.meta.url);
  if (dir.protocol !== "file:") return;
  if (Deno.permissions.querySync({ name: "read", path: dir.pathname }).state !== "granted") {
    throw new Error(
      "the tfjs wasm backend needs --allow-read (it loads its .wasm files from node_modules)",
    );
  }
}

/** Whether the one-thread warning has been printed (once per process). */
let warnedOneThread = false;

async function startWasm(threads: number): Promise<Omit<BackendInfo, "initMs">> {
  requireWasmRead();
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  let note: string | undefined;
  const missing = threads > 1 ? missingThreadPermissions() : [];
  if (missing.length > 0) {
    note = `wasm runs on 1 thread: its ${threads} worker threads need ${missing.join(" and ")}`;
    if (!warnedOneThread) console.warn(`warning: ${note}`);
    warnedOneThread = true;
    threads = 1;
  }
  if (threads > 1) {
    const { registerThreadedWasm } = await import("./wasm_threads.ts");
    registerThreadedWasm(threads);
    if (!(await tf.setBackend("wasm"))) {
      note = "multi-threaded wasm failed to start; running on one thread";
    }
  }
  if (tf.getBackend() !== "wasm" && !(await tf.setBackend("wasm"))) {
    throw new Error("the tfjs wasm backend failed to start");
  }
  const running = wasm.getThreadsCount();
  if (note === undefined && running < threads) note = `wasm runs ${running} of ${threads} threads`;
  return { name: "wasm", threads: running, simd: wasmSimdSupported(), note };
}

/**
 * Starts a tfjs backend and makes it current.
 *
 * `auto`: WebGPU when a real (non-fallback) GPU adapter exists, else wasm. `webgpu` on a
 * machine without any adapter throws; with a fallback (software) adapter it runs, slowly.
 *
 * @throws Error when the asked-for backend cannot start
 */
export async function initBackend(
  name: BackendChoice,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const t0 = performance.now();
  const threads = options.threads ?? defaultThreads();
  let info: Omit<BackendInfo, "initMs">;
  if (name === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    if (!(await tf.setBackend("cpu"))) throw new Error("the tfjs cpu backend failed to start");
    // the cpu backend's first write prints a "install tfjs-node" banner under Deno
    (tf.backend() as { firstUse?: boolean }).firstUse = false;
    info = { name: "cpu", threads: 1, simd: false };
  } else if (name === "wasm") {
    info = await startWasm(threads);
  } else {
    const adapter = await probeWebGpuAdapter();
    if (name === "auto" && (adapter === null || adapter.isFallbackAdapter)) {
      const why = adapter === null ? "no WebGPU adapter" : "the WebGPU adapter is a fallback";
      info = await startWasm(threads);
      info.note = [`auto chose wasm: ${why}`, info.note].filter(Boolean).join("; ");
    } else {
      if (adapter === null) throw new Error("webgpu: no WebGPU adapter found");
      await import("@tensorflow/tfjs-backend-webgpu");
      if (!(await tf.setBackend("webgpu"))) {
        throw new Error("the tfjs webgpu backend failed to start");
      }
      chunkWebGpuAddN();
      info = { name: "webgpu", threads: 0, simd: false, adapter };
    }
  }
  if (options.gradients) await registerTrainingGradients();
  current = { ...info, initMs: Math.round(performance.now() - t0) };
  return current;
}

/**
 * The backend {@link initBackend} started, or a description of whatever tfjs runs now.
 *
 * @throws Error when no backend has been started
 */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend();
  if (current !== null && current.name === name) return current;
  if (name === "cpu" || name === "wasm" || name === "webgpu") {
    return { name, threads: name === "cpu" ? 1 : 0, simd: false, initMs: 0 };
  }
  throw new Error(`backendInfo: no tfjs backend is running (got ${String(name)})`);
}
