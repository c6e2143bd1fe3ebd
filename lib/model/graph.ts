/**
 * {@linkcode GraphBuilder}: what the architecture builders write a {@linkcode NetworkGraph}
 * with. Layer helpers (`layers.ts`) declare their parameters when they are made and append
 * their nodes when they are applied to a {@linkcode Ref}, so parameters come in creation order
 * (which seeds the init) and nodes in application order (the order the engine runs them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "./graph.ts";
 * const g = new GraphBuilder();
 * const y = g.node({ op: "relu", input: g.input });
 * const flat = g.node({ op: "flattenHead", inputs: [y], columns: 3 });
 * const graph = g.finish({
 *   arch: "demo",
 *   imageSize: [4, 4],
 *   sources: [y],
 *   locPred: flat,
 *   clsLogits: flat,
 * });
 * assert.deepEqual(graph.nodes.map((n) => n.op), ["input", "relu", "flattenHead"]);
 * ```
 *
 * @module
 */
import type { GraphNode, InputNode, NetworkGraph, ParamSpec, Ref } from "./graph_ir.ts";
import type { AddOptions } from "./params.ts";

/** What a builder's graph produces: the source maps and the two head outputs. */
export type NetworkOutputs = Pick<NetworkGraph, "sources" | "locPred" | "clsLogits">;

/** Refs a node reads. */
export function nodeInputs(node: GraphNode): Ref[] {
  if ("inputs" in node) return node.inputs;
  if ("input" in node) return [node.input];
  return [];
}

/** Collects the nodes, parameters and counters of one network. */
export class GraphBuilder {
  /** The network input (normalized images `[B, H, W, 3]`), node 0. */
  readonly input: Ref = 0;
  readonly #nodes: GraphNode[] = [{ op: "input" }];
  readonly #params: ParamSpec[] = [];
  readonly #counters: string[] = [];
  readonly #names = new Set<string>();

  /**
   * Appends `node`; returns its ref.
   *
   * @throws {RangeError} if an input does not refer to an earlier node.
   */
  node(node: Exclude<GraphNode, InputNode>): Ref {
    const at = this.#nodes.length;
    for (const r of nodeInputs(node)) {
      if (!Number.isInteger(r) || r < 0 || r >= at) {
        throw new RangeError(
          `Cannot add ${node.op} node ${at}: inputs must be earlier nodes (0…${at - 1}), got ${r}`,
        );
      }
    }
    this.#nodes.push(node);
    return at;
  }

  /**
   * Declares a parameter (PyTorch name and shape); returns its name.
   *
   * @throws {RangeError} if the name is taken.
   */
  param(name: string, torchShape: number[], opts: AddOptions): string {
    this.#claim(name);
    this.#params.push({
      name,
      torchShape: [...torchShape],
      layout: opts.layout ?? "plain",
      init: opts.init,
      trainable: opts.trainable ?? true,
    });
    return name;
  }

  /** Declares a BatchNorm `num_batches_tracked` counter; returns its name. */
  counter(name: string): string {
    this.#claim(name);
    this.#counters.push(name);
    return name;
  }

  /** The finished graph (the builder's arrays are copied). */
  finish(meta: { arch: string; imageSize: [number, number] } & NetworkOutputs): NetworkGraph {
    const { arch, imageSize, sources, locPred, clsLogits } = meta;
    return {
      arch,
      imageSize: [imageSize[0], imageSize[1]],
      nodes: [...this.#nodes],
      params: [...this.#params],
      counters: [...this.#counters],
      sources: [...sources],
      locPred,
      clsLogits,
    };
  }

  #claim(name: string): void {
    if (this.#names.has(name)) {
      throw new RangeError(`Cannot declare "${name}": the name is already taken`);
    }
    this.#names.add(name);
  }
}
