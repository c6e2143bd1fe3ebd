import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { NetworkGraph } from "../lib/model/graph_ir.ts";
import { GraphBuilder } from "../lib/model/graph.ts";
import { activation, batchNorm, conv2d, l2Norm, type Layer, maxPool } from "../lib/model/layers.ts";
import type { ParamStore } from "../lib/model/params.ts";
import { createParamStore, runGraph } from "../lib/model/run_graph.ts";
import { useBackend } from "./model_helpers.ts";

/** A graph of one layer applied to the input; its output is source 0. */
function layerGraph(build: (g: GraphBuilder) => Layer): NetworkGraph {
  const g = new GraphBuilder();
  const y = build(g)(g.input);
  const flat = g.node({ op: "flattenHead", inputs: [y], columns: 1 });
  return g.finish({
    arch: "layer",
    imageSize: [1, 1],
    sources: [y],
    locPred: flat,
    clsLogits: flat,
  });
}

/** Runs the layer of `graph` on `x` (eval mode). */
function runLayer(graph: NetworkGraph, store: ParamStore, x: tf.Tensor4D): tf.Tensor4D {
  const { sources, locPred } = runGraph(graph, store, x);
  locPred.dispose(); // = clsLogits
  return sources[0];
}

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) =>
  assert.ok(Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol), `${Array.from(a)} vs ${b}`);

Deno.test("conv2d() pads 1 on every side at stride 2, as PyTorch (not TF same)", async () => {
  await useBackend("cpu");
  const graph = layerGraph((g) =>
    conv2d(g, "c", { inChannels: 1, outChannels: 1, kernel: 3, stride: 2, padding: 1, bias: false })
  );
  const store = createParamStore(graph);
  store.entries.get("c.weight")!.variable.assign(tf.ones([3, 3, 1, 1]));
  // 4×4 input 0…15; PyTorch windows are centred on rows/cols 0 and 2:
  // (0,0): 0+1+4+5 = 10; (0,2): 1+2+3+5+6+7 = 24; (2,0): 4+5+8+9+12+13 = 51;
  // (2,2): 5+6+7+9+10+11+13+14+15 = 90. TF `same` would centre them on 1 and 3.
  const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
  const y = runLayer(graph, store, x);
  assert.deepEqual(y.shape, [1, 2, 2, 1]);
  close(y.dataSync(), [10, 24, 51, 90]);
  tf.dispose([x, y]);
  store.dispose();
});

Deno.test("conv2d() with dilation 2 and padding 2 keeps the size and skips neighbours", async () => {
  await useBackend("cpu");
  const graph = layerGraph((g) =>
    conv2d(g, "c", {
      inChannels: 1,
      outChannels: 1,
      kernel: 3,
      padding: 2,
      dilation: 2,
      bias: false,
    })
  );
  const store = createParamStore(graph);
  store.entries.get("c.weight")!.variable.assign(tf.ones([3, 3, 1, 1]));
  const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => i), [1, 5, 5, 1]);
  const y = runLayer(graph, store, x);
  assert.deepEqual(y.shape, [1, 5, 5, 1]);
  // centre (2,2) sums rows/cols 0, 2, 4: (0+2+4) + (10+12+14) + (20+22+24) = 108
  close([y.dataSync()[12]], [108]);
  tf.dispose([x, y]);
  store.dispose();
});

Deno.test("batchNorm() in eval uses running stats and eps: (x − m)/√(v + eps)·γ + β", async () => {
  await useBackend("cpu");
  const graph = layerGraph((g) => batchNorm(g, "bn", { channels: 2, eps: 1e-3 }));
  const store = createParamStore(graph);
  const set = (k: string, v: number[]) =>
    store.entries.get(`bn.${k}`)!.variable.assign(tf.tensor1d(v));
  set("running_mean", [1, -2]);
  set("running_var", [4, 0.25]);
  set("weight", [2, 1]);
  set("bias", [0.5, 0]);
  const x = tf.tensor4d([3, 0], [1, 1, 1, 2]);
  const y = runLayer(graph, store, x);
  // (3 − 1)/√4.001·2 + 0.5 = 2.49975…; (0 + 2)/√0.251 = 3.99202…
  close(y.dataSync(), [2 / Math.sqrt(4.001) * 2 + 0.5, 2 / Math.sqrt(0.251)]);
  tf.dispose([x, y]);
  store.dispose();
});

Deno.test("l2Norm() normalizes across channels and scales by 20; zero stays zero", async () => {
  await useBackend("cpu");
  const graph = layerGraph((g) => l2Norm(g, "scale_weight", { channels: 2 }));
  const store = createParamStore(graph);
  const x = tf.tensor4d([3, 4, 0, 0], [1, 1, 2, 2]);
  const y = runLayer(graph, store, x);
  close(y.dataSync(), [12, 16, 0, 0]); // 20·(0.6, 0.8)
  tf.dispose([x, y]);
  store.dispose();
});

Deno.test('activation("hardSwish") is x·relu6(x + 3)/6', async () => {
  await useBackend("cpu");
  const graph = layerGraph((g) => activation(g, "hardSwish"));
  const store = createParamStore(graph);
  const x = tf.tensor4d([-4, -3, -1, 0, 1, 3, 5], [1, 1, 7, 1]);
  const y = runLayer(graph, store, x);
  close(y.dataSync(), [0, 0, -1 / 3, 0, 2 / 3, 3, 5]);
  tf.dispose([x, y]);
});

Deno.test("maxPool({ceil}) gives ceil-mode sizes: 75 → 38 (SSD300 pool3), 3×3 stride 1 padding 1 keeps size", async () => {
  await useBackend("cpu");
  const pool = (opts: Parameters<typeof maxPool>[1], x: tf.Tensor4D) => {
    const graph = layerGraph((g) => maxPool(g, opts));
    return runLayer(graph, createParamStore(graph), x);
  };
  const x = tf.zeros([1, 75, 75, 1]) as tf.Tensor4D;
  const a = pool({ kernel: 2, stride: 2, ceil: true }, x);
  const b = pool({ kernel: 2, stride: 2 }, x);
  const c = pool({ kernel: 3, stride: 1, padding: 1 }, x);
  assert.deepEqual([a.shape[1], b.shape[1], c.shape[1]], [38, 37, 75]);
  // the last ceil window holds only the last row/column (PyTorch ignores the overhang)
  const y = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
  const p = pool({ kernel: 2, stride: 2, ceil: true }, y);
  close(p.dataSync(), [2, 3]);
  tf.dispose([x, a, b, c, y, p]);
});
