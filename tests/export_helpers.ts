/** Shared set-up of the exporter tests. */
import { makeRng, uniform } from "../lib/data/rng.ts";
import type { StateDict } from "../lib/io/state_dict.ts";

/**
 * `sd` with every float tensor redrawn so that outputs are O(1) and BatchNorm is not the
 * identity: He-uniform conv weights (variance-preserving through ReLUs), biases U(±0.2), BN
 * weight U(0.5, 1.5), running mean U(±0.5), running var U(0.5, 2), L2Norm scale U(10, 30).
 * Random-init SSDlite heads (N(0, 0.03)) would otherwise give outputs of 1e-20.
 */
export function livelyWeights(sd: StateDict, seed: number): StateDict {
  const rng = makeRng(seed);
  const out: StateDict = new Map();
  for (const [name, t] of sd) {
    if (t.dtype !== "float32") {
      out.set(name, t);
      continue;
    }
    const n = t.data.length;
    const draw = (lo: number, hi: number) =>
      Float32Array.from({ length: n }, () => uniform(rng, lo, hi));
    let data: Float32Array;
    if (t.shape.length === 4) {
      const fanIn = t.shape[1] * t.shape[2] * t.shape[3];
      const a = Math.sqrt(6 / fanIn);
      data = draw(-a, a);
    } else if (name.endsWith("running_var")) data = draw(0.5, 2);
    else if (name.endsWith("running_mean")) data = draw(-0.5, 0.5);
    else if (name.endsWith("scale_weight")) data = draw(10, 30);
    else if (name.endsWith(".weight")) data = draw(0.5, 1.5);
    else data = draw(-0.2, 0.2);
    out.set(name, { dtype: "float32", shape: [...t.shape], data });
  }
  return out;
}
