import * as tf from "@tensorflow/tfjs-core";
import { initBackend, probeWebGpuAdapter } from "../lib/engine/tfjs.ts";

Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp");

/** The WebGPU adapter Deno finds here (a software one counts), or null. */
export const webGpuAdapter = await probeWebGpuAdapter();

/**
 * A test of `run` on the webgpu backend, with small kernels on the GPU too (tfjs otherwise runs
 * them on the CPU); skipped, saying so, where Deno finds no adapter. The cpu backend is current
 * again afterwards. `cpuFirst` runs on the cpu backend before the switch (what to compare with).
 */
export function webGpuTest<T>(
  name: string,
  run: (cpuResult: T | undefined) => Promise<void>,
  cpuFirst?: () => Promise<T>,
): void {
  if (webGpuAdapter === null) console.log(`no WebGPU adapter: "${name}" is skipped`);
  Deno.test({
    name,
    ignore: webGpuAdapter === null,
    sanitizeOps: false, // the WebGPU device lives on after the test
    sanitizeResources: false,
    async fn() {
      const cpu = cpuFirst ? await cpuFirst() : undefined;
      await initBackend("webgpu");
      const cpuForward = tf.env().getBool("WEBGPU_CPU_FORWARD");
      try {
        tf.env().set("WEBGPU_CPU_FORWARD", false);
        await run(cpu);
      } finally {
        tf.env().set("WEBGPU_CPU_FORWARD", cpuForward);
        await initBackend("cpu");
      }
    },
  });
}
