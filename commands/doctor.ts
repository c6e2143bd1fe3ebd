import { Command, InvalidArgumentError } from "@commander-js/extra-typings";

/** One backend's row in the report. */
interface BackendRow {
  backend: "cpu" | "wasm" | "webgpu";
  ok: boolean;
  threads?: number;
  simd?: boolean;
  initMs?: number;
  forwardMs?: number;
  /** Max abs difference of the check network's output from cpu's. */
  maxAbsDiffVsCpu?: number;
  note?: string;
  error?: string;
}

/** `ssd doctor`: which backends load, the WebGPU adapter, wasm threads/SIMD, onnxruntime. */
export function doctorCommand() {
  return new Command("doctor")
    .description(
      "check the backends (cpu, wasm threads/SIMD, WebGPU adapter), onnxruntime, and a small " +
        "conv forward pass on each backend against cpu",
    )
    .option("--json", "print the report as JSON")
    .option("--threads <n>", "wasm threads (default: logical cores, at most 8)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 8) {
        throw new InvalidArgumentError(`expected an integer 1..8, got ${v}`);
      }
      return n;
    })
    .action(async (opts) => {
      const tf = await import("@tensorflow/tfjs-core");
      const { initBackend, probeWebGpuAdapter, wasmSimdSupported } = await import(
        "../lib/engine/tfjs.ts"
      );
      const { runConvCheck, maxAbsDiff } = await import("../lib/engine/check.ts");
      const { onnxruntimeAvailable } = await import("../lib/engine/onnx.ts");

      const adapter = await probeWebGpuAdapter();
      const rows: BackendRow[] = [];
      let reference: Float32Array | null = null;
      for (const backend of ["cpu", "wasm", "webgpu"] as const) {
        if (backend === "webgpu" && adapter === null) {
          rows.push({ backend, ok: false, error: "no WebGPU adapter found" });
          continue;
        }
        try {
          const info = await initBackend(backend, { threads: opts.threads });
          await runConvCheck(); // warm-up: kernels compile / load on first use
          const t0 = performance.now();
          const out = await runConvCheck();
          const forwardMs = Math.round(performance.now() - t0);
          if (backend === "cpu") reference = out;
          rows.push({
            backend,
            ok: true,
            threads: info.threads,
            simd: info.simd,
            initMs: info.initMs,
            forwardMs,
            maxAbsDiffVsCpu: reference === null ? undefined : maxAbsDiff(out, reference),
            note: info.note,
          });
        } catch (err) {
          rows.push({ backend, ok: false, error: (err as Error).message.split("\n")[0] });
        }
      }
      const report = {
        deno: Deno.version.deno,
        tfjs: tf.version_core,
        cores: navigator.hardwareConcurrency,
        wasmSimd: wasmSimdSupported(),
        webgpu: adapter,
        backends: rows,
        onnxruntime: await onnxruntimeAvailable(),
      };
      if (opts.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(`deno ${report.deno}, tfjs ${report.tfjs}, ${report.cores} logical cores`);
      if (adapter === null) console.log("webgpu: no adapter found");
      else {
        console.log(
          `webgpu: ${
            adapter.description || adapter.vendor
          } (fallback: ${adapter.isFallbackAdapter}, ` +
            `maxStorageBufferBindingSize ${adapter.maxStorageBufferBindingSize}, ` +
            `maxBufferSize ${adapter.maxBufferSize})`,
        );
      }
      for (const r of rows) {
        if (!r.ok) {
          console.log(`${r.backend.padEnd(6)} FAIL  ${r.error}`);
          continue;
        }
        const extra = r.backend === "wasm" ? ` threads ${r.threads}, simd ${r.simd},` : "";
        console.log(
          `${
            r.backend.padEnd(6)
          } ok   ${extra} init ${r.initMs} ms, check forward ${r.forwardMs} ms, ` +
            `max |diff| vs cpu ${r.maxAbsDiffVsCpu?.toExponential(2)}${
              r.note ? ` (${r.note})` : ""
            }`,
        );
      }
      const ort = report.onnxruntime;
      console.log(
        ort.ok
          ? `onnxruntime-node ${ort.version ?? "?"}: ok`
          : `onnxruntime-node: FAIL ${ort.error}`,
      );
    });
}
