/**
 * TF.js graph models of our networks: the layer graph ({@linkcode NetworkGraph}) walked once
 * into a TensorFlow `GraphDef`, its weights in the tfjs layout, as `model.json` +
 * `group1-shard*of*.bin` that `tf.loadGraphModel` loads and runs on any backend.
 *
 * The model takes `images` `[B, H, W, 3]` float32, already normalized ((px − mean)/std, as
 * `SsdModel.predict`) and gives `loc` `[B, P, 4]` (dx, dy, dw, dh before variances)
 * and `logits` `[B, P, C]` (background at 0), in prior order. Decoding and NMS stay outside.
 *
 * The graph is made by {@linkcode networkGraphDef} (`tfjs_graph_nodes.ts`, which lists how each
 * layer maps to TF ops); weights are `Const` nodes under their PyTorch state-dict names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { describeNetwork } from "../model/network.ts";
 * import { buildTfjsGraphModel } from "./tfjs_graph.ts";
 * const cfg = getConfig("tiny");
 * const graph = describeNetwork(cfg);
 * // the weights would be model.stateDict(); zeros of the right shapes here
 * const sd = new Map(graph.params.map((p) => [p.name, {
 *   dtype: "float32" as const,
 *   shape: p.torchShape,
 *   data: new Float32Array(p.torchShape.reduce((a, b) => a * b, 1)),
 * }]));
 * const { modelJson } = buildTfjsGraphModel(graph, sd, cfg);
 * assert.equal(modelJson.format, "graph-model");
 * assert.deepEqual(Object.keys(modelJson.signature.outputs), ["loc", "logits"]);
 * assert.equal(modelJson.modelTopology.node[0].op, "Placeholder");
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { type ModelConfig, numClasses } from "../config.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { StateDict } from "../io/state_dict.ts";
import type { NetworkGraph } from "../model/graph_ir.ts";
import { graphShapes } from "../model/graph_shapes.ts";
import { generatePriors, priorsHash } from "../priors.ts";
import type { NodeDef, WeightEntry } from "./tfjs_graphdef.ts";
import { networkGraphDef } from "./tfjs_graph_nodes.ts";

/** The `model.json` of a TF.js graph model (the fields tfjs-converter reads). */
export interface TfjsGraphModelJson {
  format: "graph-model";
  generatedBy: string;
  convertedBy: string;
  modelTopology: {
    node: NodeDef[];
    library: Record<string, never>;
    versions: { producer: number };
  };
  signature: {
    inputs: Record<string, { name: string; dtype: string; tensorShape: unknown }>;
    outputs: Record<string, { name: string; dtype: string; tensorShape: unknown }>;
  };
  userDefinedMetadata: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: WeightEntry["spec"][] }[];
}

/** Options of {@linkcode exportTfjsGraphModel}. */
export interface TfjsGraphExportOptions {
  /** Largest weight shard in bytes (tensorflowjs_converter's default: 4 MiB). */
  shardBytes?: number;
}

/**
 * The `model.json` and the weight bytes of a TF.js graph model of `graph` with the weights of
 * `stateDict`, without writing anything. `weightData` is the concatenation of the manifest's
 * weights in order (what the shards hold, split).
 *
 * @throws {RangeError} for a parameter missing from the state dict or an inconsistent graph
 * @throws {TypeError} for a parameter of the wrong shape
 */
export function buildTfjsGraphModel(
  graph: NetworkGraph,
  stateDict: StateDict,
  config: ModelConfig,
): { modelJson: TfjsGraphModelJson; weightData: Uint8Array } {
  const g = networkGraphDef(graph, stateDict);
  const total = g.weights.reduce((n, w) => n + w.data.length, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const w of g.weights) {
    weightData.set(w.data, at);
    at += w.data.length;
  }
  const shapes = graphShapes(graph, 1);
  const dims = (s: number[]) => ({
    dim: [{ size: "-1" }, ...s.slice(1).map((d) => ({ size: String(d) }))],
  });
  const modelJson: TfjsGraphModelJson = {
    format: "graph-model",
    generatedBy: `ssd ${graph.arch} layer graph`,
    convertedBy: "ssd lib/export/tfjs_graph.ts",
    modelTopology: { node: g.nodes, library: {}, versions: { producer: 1 } },
    signature: {
      inputs: { images: { name: "images:0", dtype: "DT_FLOAT", tensorShape: dims(shapes[0]) } },
      outputs: {
        loc: { name: "loc:0", dtype: "DT_FLOAT", tensorShape: dims(shapes[graph.locPred]) },
        logits: { name: "logits:0", dtype: "DT_FLOAT", tensorShape: dims(shapes[graph.clsLogits]) },
      },
    },
    userDefinedMetadata: {
      structuredOutputKeys: ["loc", "logits"],
      config,
      classes: ["background", ...config.classes],
      numClasses: numClasses(config),
      prior_hash: priorsHash(generatePriors(config)),
    },
    weightsManifest: [{ paths: [], weights: g.weights.map((w) => w.spec) }],
  };
  return { modelJson, weightData };
}

/**
 * Writes a TF.js graph model of `graph` into `outDir` (created if needed): `model.json` and
 * `group1-shard{i}of{n}.bin`. Load it with `tf.loadGraphModel` (an `io.IOHandler` or a URL)
 * and run `model.execute(images, ["loc", "logits"])`, or `model.predict(images)` which gives
 * `{ loc, logits }`.
 *
 * @param graph the network as data (`model.graph`, or `describeNetwork(config)`)
 * @param stateDict its weights under PyTorch names and layout (`model.stateDict()`)
 * @param config the model's config, kept in `userDefinedMetadata` (with the class names and
 *   the prior hash) so that a reader can rebuild the priors
 * @param outDir the folder to write into
 * @returns the files written (paths) and the weight bytes
 */
export async function exportTfjsGraphModel(
  graph: NetworkGraph,
  stateDict: StateDict,
  config: ModelConfig,
  outDir: string,
  opts: TfjsGraphExportOptions = {},
): Promise<{ files: string[]; weightBytes: number }> {
  const shardBytes = opts.shardBytes ?? 4 * 1024 * 1024;
  const { modelJson, weightData } = buildTfjsGraphModel(graph, stateDict, config);
  const count = Math.max(1, Math.ceil(weightData.length / shardBytes));
  const paths = Array.from({ length: count }, (_, k) => `group1-shard${k + 1}of${count}.bin`);
  modelJson.weightsManifest[0].paths = paths;
  await Deno.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (const [k, name] of paths.entries()) {
    const file = join(outDir, name);
    await writeFileAtomic(file, weightData.subarray(k * shardBytes, (k + 1) * shardBytes));
    files.push(file);
  }
  const json = join(outDir, "model.json");
  await writeFileAtomic(json, JSON.stringify(modelJson));
  files.unshift(json);
  return { files, weightBytes: weightData.length };
}
