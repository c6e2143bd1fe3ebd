/**
 * The rows of `deno task bench`: what each side runs, in which kind of worker, or why a side
 * cannot run here. Threads are matched: ours on wasm ×1 against PyTorch ×1, ×2 against ×2.
 *
 * @module
 */
import { getConfig } from "../lib/config.ts";
import type { BenchInputs } from "./inputs.ts";
import type { TaskSpec } from "./protocol.ts";

/** Our worker kinds (`worker.ts --backend … --threads …`). */
export type OursWorker = "none" | "wasm1" | "wasm2" | "webgpu";

/** A side that runs: our worker kind (PyTorch's is always `torch_worker.py`) and the task. */
export interface Side {
  worker?: OursWorker;
  spec: TaskSpec & { threads?: number; device?: string };
}

/** One line of the report. */
export interface Row {
  section: string;
  /** What is measured (`ssd300-coco, batch 8`). */
  name: string;
  /** Where ours runs and against which PyTorch (`wasm ×2 vs PyTorch ×2`). */
  engine: string;
  /** Ours, or why it does not run here. */
  ours: Side | { skip: string };
  /** PyTorch's counterpart, or why it does not run here; absent when there is none. */
  torch?: Side | { skip: string };
  /** Left out by `--quick`: a slow case whose cheaper sibling row stays in. */
  slow?: boolean;
}

/** What the machine offers, found before planning. */
export interface Environment {
  /** Why the WebGPU rows cannot run (no hardware adapter), or null when they can. */
  noGpu: string | null;
  /** PyTorch's device for the GPU rows: `cuda` when torch sees one, else `cpu`. */
  torchGpuDevice: "cuda" | "cpu";
  /** Why the onnxruntime rows cannot run, or null. */
  noOnnx: string | null;
  /** Why PyTorch cannot run (torch missing), or null. */
  noTorch: string | null;
  /** The VOC folder of the loader rows, or why there is none. */
  voc: { path: string } | { skip: string };
  cores: number;
  tmpDir: string;
  inputs: BenchInputs;
}

const FORWARD_MODELS = ["face-slim-320", "ssdlite320", "ssd300-coco"];

function torchSide(env: Environment, spec: Side["spec"]): Side | { skip: string } {
  return env.noTorch ? { skip: env.noTorch } : { spec };
}

function forwardRows(env: Environment): Row[] {
  const rows: Row[] = [];
  const engines: { engine: string; worker: OursWorker; onnx?: boolean; threads: number }[] = [
    { engine: "tfjs wasm ×1", worker: "wasm1", threads: 1 },
    { engine: "tfjs wasm ×2", worker: "wasm2", threads: 2 },
    { engine: "onnxruntime ×2", worker: "wasm2", onnx: true, threads: 2 },
  ];
  for (const { engine, worker, onnx, threads } of engines) {
    for (const model of FORWARD_MODELS) {
      for (const batch of [1, 8]) {
        const spec = { task: "forward" as const, model, batch, threads };
        const ours = onnx && env.noOnnx
          ? { skip: env.noOnnx }
          : { worker, spec: { ...spec, engine: onnx ? "onnx" : "tfjs", tmpDir: env.tmpDir } };
        rows.push({
          section: "forward pass",
          name: `${model}, batch ${batch}`,
          engine: `${engine} vs PyTorch ×${threads}`,
          ours,
          torch: torchSide(env, spec),
          slow: batch > 1,
        });
      }
    }
  }
  for (const model of FORWARD_MODELS) {
    for (const batch of [1, 8]) {
      const device = env.torchGpuDevice;
      const threads = env.cores;
      const spec = { task: "forward" as const, model, batch, threads, device };
      rows.push({
        section: "forward pass",
        name: `${model}, batch ${batch}`,
        engine: `tfjs webgpu vs PyTorch ${device === "cuda" ? "CUDA" : `×${threads}`}`,
        ours: env.noGpu ? { skip: env.noGpu } : { worker: "webgpu", spec: { ...spec } },
        torch: env.noGpu ? undefined : torchSide(env, spec),
      });
    }
  }
  return rows;
}

/**
 * One 3×3 conv layer of `tiny`'s shapes at batch 16, forward and forward + both gradients, on one
 * thread a side: what the backend's conv kernel costs against PyTorch's, under every conv-heavy
 * training step's ratio.
 */
function convRows(env: Environment): Row[] {
  const shapes = [
    { size: 40, inC: 32, outC: 32, stride: 1 },
    { size: 10, inC: 128, outC: 128, stride: 1 },
  ];
  return shapes.flatMap((shape) =>
    [false, true].map((backward): Row => {
      const spec = { task: "conv" as const, batch: 16, ...shape, backward, threads: 1 };
      const { size, inC, outC } = shape;
      return {
        section: "conv kernel (one 3×3 layer, batch 16)",
        name: `${size}×${size}×${inC} → ${outC}, ${backward ? "forward + dx + dW" : "forward"}`,
        engine: "tfjs wasm ×1 vs PyTorch ×1",
        ours: { worker: "wasm1", spec },
        torch: torchSide(env, spec),
      };
    })
  );
}

/** Every row, in report order. */
export function planRows(env: Environment): Row[] {
  const { nms, match, coco } = env.inputs;
  const post = getConfig("ssd300").postprocess;
  const nmsSpec = { task: "nms" as const, ...nms, post, threads: 1 };
  const evalFiles = { gt: coco.gt, results: coco.results, threads: 1 };
  const cases = `${coco.images} images, ${coco.detections} detections`;
  return [
    ...forwardRows(env),
    ...[1, 2].flatMap((threads) =>
      [false, true].flatMap((onnx) =>
        ["tiny", "face-slim-320"].map((model): Row => {
          const spec = { task: "train_step" as const, model, batch: 16, threads };
          const ours = onnx && env.noOnnx ? { skip: env.noOnnx } : {
            worker: threads === 1 ? "wasm1" as const : "wasm2" as const,
            spec: { ...spec, engine: onnx ? "onnx" : "tfjs" },
          };
          return {
            section: "training step (SGD, random weights)",
            name: `${model}, batch 16`,
            engine: `${onnx ? "onnxruntime" : "tfjs wasm"} ×${threads} vs PyTorch ×${threads}`,
            ours,
            torch: torchSide(env, spec),
            slow: model !== "tiny",
          };
        })
      )
    ),
    ...["tiny", "face-slim-320"].map((model): Row => {
      // issue 9's GPU item: a step on WebGPU beside PyTorch on the same GPU (CUDA where torch
      // has it); skipped, with the reason, where Deno's WebGPU has no hardware adapter
      const device = env.torchGpuDevice;
      const spec = { task: "train_step" as const, model, batch: 16, threads: env.cores, device };
      return {
        section: "training step (SGD, random weights)",
        name: `${model}, batch 16`,
        engine: `tfjs webgpu vs PyTorch ${device === "cuda" ? "CUDA" : `×${env.cores}`}`,
        ours: env.noGpu
          ? { skip: env.noGpu }
          : { worker: "webgpu", spec: { ...spec, engine: "tfjs" } },
        torch: env.noGpu ? undefined : torchSide(env, spec),
      };
    }),
    ...convRows(env),
    {
      section: "post-processing",
      name: `NMS of ${nms.priors} priors × ${nms.classes} classes (ssd300 settings)`,
      engine: "TypeScript vs torchvision batched_nms ×1",
      ours: { worker: "none", spec: nmsSpec },
      torch: torchSide(env, nmsSpec),
    },
    ...(["match", "loss_grads"] as const).map((task): Row => {
      const spec = { task, ...match, threads: 1 };
      return {
        section: "matching and loss",
        name: task === "match"
          ? `matchTargets, batch ${match.batch}, 8732 priors`
          : `MultiBox loss + gradients, batch ${match.batch}, ${match.classes} classes`,
        engine: "tfjs wasm ×1 vs PyTorch ×1",
        ours: { worker: "wasm1", spec },
        torch: torchSide(env, spec),
      };
    }),
    {
      section: "evaluation",
      name: `COCO, ${cases}`,
      engine: "TypeScript vs pycocotools",
      ours: { worker: "none", spec: { task: "coco_eval", ...evalFiles } },
      torch: torchSide(env, { task: "coco_eval", ...evalFiles }),
    },
    {
      section: "evaluation",
      name: `VOC07 11-point + all-point, ${cases}`,
      engine: "TypeScript",
      ours: { worker: "none", spec: { task: "voc_eval", ...evalFiles } },
    },
    ...[0, 1, 2].map((workers): Row => ({
      section: "data loader (decode, augment, resize, normalize; one epoch)",
      name: `raccoon train set, ${workers} worker${workers === 1 ? "" : "s"}`,
      engine: "TypeScript",
      ours: "skip" in env.voc
        ? { skip: env.voc.skip }
        : { worker: "none", spec: { task: "loader", voc: env.voc.path, workers } },
      slow: workers < 2,
    })),
  ];
}
