/**
 * Shapes of every value of a {@linkcode NetworkGraph}, by PyTorch's size arithmetic, without
 * running it: what `describeNetwork` checks the source maps against the priors with, and what
 * an exporter can declare.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getConfig } from "../config.ts";
 * import { describeNetwork } from "./network.ts";
 * import { graphShapes } from "./graph_shapes.ts";
 * const graph = describeNetwork(getConfig("tiny"));
 * const shapes = graphShapes(graph, 2);
 * assert.deepEqual(shapes[graph.sources[0]], [2, 20, 20, 64]);
 * assert.deepEqual(shapes[graph.locPred], [2, 2390, 4]);
 * ```
 *
 * @module
 */
import type { GraphNode, NetworkGraph } from "./graph_ir.ts";

/** PyTorch output size of a conv or pool along one axis (`ceil`: `ceil_mode=True`). */
function outSize(
  size: number,
  p: { kernel: number; stride: number; padding: number; dilation?: number; ceil?: boolean },
): number {
  const span = size + 2 * p.padding - (p.dilation ?? 1) * (p.kernel - 1) - 1;
  let out = (p.ceil ? Math.ceil(span / p.stride) : Math.floor(span / p.stride)) + 1;
  // PyTorch: the last ceil-mode window must start inside the input or its left padding
  if (p.ceil && (out - 1) * p.stride >= size + p.padding) out -= 1;
  return out;
}

/**
 * The shape of each node's value for a batch of `batch` images: `[B, H, W, C]` feature maps,
 * `[B, P, K]` for `flattenHead`.
 *
 * @throws {RangeError} where the graph is inconsistent: channels that do not match a node's
 * declaration, maps of different sizes concatenated or added, a size that reaches 0.
 */
export function graphShapes(graph: NetworkGraph, batch = 1): number[][] {
  const shapes: number[][] = [];
  graph.nodes.forEach((node, i) => {
    const shape = nodeShape(node, shapes, graph, batch);
    if (shape.some((d) => !(d > 0))) {
      throw new RangeError(
        `Cannot infer the shapes of ${graph.arch}: node ${i} (${node.op}) gives [${shape}]`,
      );
    }
    shapes.push(shape);
  });
  return shapes;
}

function nodeShape(
  node: GraphNode,
  shapes: number[][],
  graph: NetworkGraph,
  batch: number,
): number[] {
  const fail = (what: string) => {
    throw new RangeError(
      `Cannot infer the shapes of ${graph.arch}: node ${shapes.length} (${node.op}) ${what}`,
    );
  };
  const channels = (x: number[], expected: number) => {
    if (x[3] !== expected) fail(`expects ${expected} channels, got [${x}]`);
  };
  switch (node.op) {
    case "input":
      return [batch, ...graph.imageSize, 3];
    case "conv": {
      const x = shapes[node.input];
      channels(x, node.inChannels);
      return [x[0], outSize(x[1], node), outSize(x[2], node), node.outChannels];
    }
    case "maxPool": {
      const x = shapes[node.input];
      return [x[0], outSize(x[1], node), outSize(x[2], node), x[3]];
    }
    case "batchNorm":
    case "l2Norm":
      channels(shapes[node.input], node.channels);
      return [...shapes[node.input]];
    case "relu":
    case "relu6":
    case "hardSigmoid":
    case "hardSwish":
      return [...shapes[node.input]];
    case "globalAvgPool": {
      const x = shapes[node.input];
      return [x[0], 1, 1, x[3]];
    }
    case "add":
    case "mul": {
      const [a, b] = node.inputs.map((r) => shapes[r]);
      if (a.some((d, k) => d !== b[k] && d !== 1 && b[k] !== 1)) {
        fail(`cannot broadcast [${a}] with [${b}]`);
      }
      return a.map((d, k) => Math.max(d, b[k]));
    }
    case "concat": {
      const xs = node.inputs.map((r) => shapes[r]);
      if (xs.some((x) => x[1] !== xs[0][1] || x[2] !== xs[0][2])) {
        fail(`concatenates maps of different sizes: ${xs.map((x) => `[${x}]`).join(", ")}`);
      }
      return [xs[0][0], xs[0][1], xs[0][2], xs.reduce((n, x) => n + x[3], 0)];
    }
    case "flattenHead": {
      let priors = 0;
      for (const r of node.inputs) {
        const [, h, w, c] = shapes[r];
        if (c % node.columns !== 0) fail(`has ${c} channels, not a multiple of ${node.columns}`);
        priors += h * w * (c / node.columns);
      }
      return [batch, priors, node.columns];
    }
  }
}
