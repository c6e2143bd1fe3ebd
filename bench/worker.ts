/**
 * Our side of `deno task bench`: one long-lived process per tfjs setting (a backend starts
 * once per process), answering `bench/protocol.ts` requests on stdin/stdout. `none` starts no
 * tfjs backend (evaluation, NMS and the loader are plain TypeScript).
 *
 *   deno run --allow-all bench/worker.ts --backend none|wasm|webgpu [--threads 1]
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import process from "node:process";
import { initBackend } from "../lib/engine/tfjs.ts";
import { flag } from "../scripts/args.ts";
import { readLines, reply, type Task, type TaskSpec } from "./protocol.ts";

const backend = flag("--backend", "none") as "none" | "wasm" | "webgpu";
const threads = Number(flag("--threads", "1"));

/** Builds the task a spec names; each kind loads its module only when asked for. */
async function setup(spec: TaskSpec): Promise<Task> {
  switch (spec.task) {
    case "forward":
      return spec.engine === "onnx"
        ? (await import("./onnx_forward_task.ts")).setupOnnxForward(spec)
        : (await import("./forward_task.ts")).setupForward(spec);
    case "train_step":
      return (await import("./train_step_task.ts")).setupTrainStep(spec);
    case "conv":
      return (await import("./conv_task.ts")).setupConv(spec);
    case "nms":
      return (await import("./nms_task.ts")).setupNms(spec);
    case "match":
    case "loss_grads":
      return (await import("./match_loss_task.ts")).setupMatchLoss(spec);
    case "coco_eval":
    case "voc_eval":
      return (await import("./eval_task.ts")).setupEval(spec);
    case "loader":
      return (await import("./loader_task.ts")).setupLoader(spec);
  }
  throw new RangeError(`unknown task ${JSON.stringify(spec.task)}`);
}

const live = () => backend === "none" ? undefined : tf.memory().numTensors;

/** Runs the task once: wall ms, CPU time of every thread over wall, RSS, live tensors. */
async function measure(task: Task) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const figures = await task.run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0); // µs
  return {
    ms,
    cpuPerWall: (cpu.user + cpu.system) / 1000 / ms,
    rssMiB: Math.round(Deno.memoryUsage().rss / 2 ** 20),
    tensors: live(),
    ...figures,
  };
}

const info = backend === "none" ? null : await initBackend(backend, { threads, gradients: true });
reply({
  deno: Deno.version.deno,
  backend: info?.name ?? "none",
  threads: info?.threads,
  note: info?.note,
  adapter: info?.adapter?.description || info?.adapter?.vendor,
});

let task: Task | null = null;
for await (const line of readLines(Deno.stdin.readable)) {
  const request = JSON.parse(line) as { op: string } & TaskSpec;
  try {
    if (request.op === "setup") {
      await task?.end();
      task = null;
      task = await setup(request);
      reply(await measure(task)); // the warm-up: kernels compiled, pools started, caches filled
    } else if (request.op === "measure") {
      if (task === null) throw new Error("measure before setup");
      reply(await measure(task));
    } else if (request.op === "end") {
      await task?.end();
      task = null;
      reply({ tensors: live() });
    } else {
      throw new RangeError(`unknown op ${JSON.stringify(request.op)}`);
    }
  } catch (err) {
    reply({ error: (err as Error).message.split("\n")[0] });
  }
}
await task?.end();
