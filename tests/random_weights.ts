/** Seeded test weights that keep an SSD's activations of order 1 (see {@link randomizeWeights}). */
import type { SsdModel } from "../lib/model/ssd.ts";
import { makeRng } from "../lib/data/rng.ts";

/**
 * Replaces `model`'s weights with seeded ones that keep activations of order 1 through any
 * depth (the inits of SSDlite, N(0, 0.03), shrink them to 1e-20 by the heads, which would make
 * an export comparison vacuous): conv weights N(0, 2/fanIn), biases N(0, 0.1²), BatchNorm
 * scale U(0.8, 1.2), shift and running mean N(0, 0.1²), running variance U(0.8, 1.2), other
 * vectors (L2Norm scales) U(5, 20).
 */
export function randomizeWeights(model: SsdModel, seed: number): void {
  const rng = makeRng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const sd = model.stateDict();
  for (const [name, t] of sd) {
    if (t.dtype !== "float32") continue;
    const data = t.data as Float32Array;
    const uniform = (lo: number, hi: number) =>
      data.forEach((_, i) => (data[i] = lo + (hi - lo) * rng()));
    if (t.shape.length === 4) {
      const std = Math.sqrt(2 / (t.shape[1] * t.shape[2] * t.shape[3]));
      data.forEach((_, i) => (data[i] = std * normal()));
    } else if (/(running_var|\.weight)$/.test(name)) { // BatchNorm (conv weights are 4-D)
      uniform(0.8, 1.2);
    } else if (/(bias|running_mean)$/.test(name)) {
      data.forEach((_, i) => (data[i] = 0.1 * normal()));
    } else {
      uniform(5, 20);
    }
  }
  model.loadStateDict(sd);
}
