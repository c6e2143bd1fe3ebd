/**
 * Loads a TF.js graph model folder (`model.json` + weight shards) from disk with
 * `@tensorflow/tfjs-converter`, for checking exports and running them under Deno, where
 * `tf.loadGraphModel` has no `file://` handler.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type GraphModel, loadGraphModelSync } from "@tensorflow/tfjs-converter";
import { join } from "node:path";
import { FileError } from "../errors.ts";

/**
 * Reads `dir/model.json` and its weight shards and returns the loaded graph model (on the
 * current backend). The caller disposes it.
 *
 * @throws {FileError} when a file is missing or `model.json` is not a graph model
 */
export async function loadTfjsGraphModel(dir: string): Promise<GraphModel<tf.io.IOHandlerSync>> {
  const jsonPath = join(dir, "model.json");
  let json: {
    format?: string;
    modelTopology?: unknown;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    signature?: unknown;
    userDefinedMetadata?: Record<string, unknown>;
  };
  try {
    json = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (err) {
    throw new FileError(jsonPath, `cannot read a TF.js model: ${(err as Error).message}`);
  }
  if (json.format !== "graph-model" || json.modelTopology === undefined) {
    throw new FileError(jsonPath, `not a TF.js graph model (format ${String(json.format)})`);
  }
  const groups = json.weightsManifest ?? [];
  const shards: Uint8Array[] = [];
  for (const group of groups) {
    for (const p of group.paths) {
      try {
        shards.push(await Deno.readFile(join(dir, p)));
      } catch (err) {
        throw new FileError(join(dir, p), `cannot read weight shard: ${(err as Error).message}`);
      }
    }
  }
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of shards) {
    weightData.set(s, at);
    at += s.length;
  }
  const handler = tf.io.fromMemorySync({
    modelTopology: json.modelTopology as tf.io.ModelArtifacts["modelTopology"],
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: weightData.buffer,
    format: json.format,
    signature: json.signature as tf.io.ModelArtifacts["signature"],
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts["userDefinedMetadata"],
  });
  return loadGraphModelSync(handler);
}
