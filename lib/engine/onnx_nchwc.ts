/**
 * Convolutions in onnxruntime's NCHWc kernels (MLAS), written into a graph directly. onnxruntime
 * rewrites a `Conv` into them only when its weights are constant initializers; in the training
 * step the weights are inputs, so the step's convs ran in the plain kernel, which threads a conv
 * only within one image and group: a depthwise conv of 60×80 or smaller ran on one thread. The
 * NCHWc kernel threads over images, channel blocks and rows, and blocks the channels for SIMD:
 * depthwise 3×3 convs of face-slim-320 at batch 16 took 2–3.5× less time, dense 3×3 ones 1.4–1.8×
 * (`BENCHMARKS.md`).
 *
 * The ops are onnxruntime's own (`com.microsoft.nchwc`: `ReorderInput`, `Conv`, `ReorderOutput`),
 * present in its x86-64 CPU builds. The block (channels per SIMD block: 8 with AVX2, 16 with
 * AVX-512) is found by running `ReorderInput` once ({@link nchwcBlock}); where the op is missing
 * the block is 0 and the step keeps ONNX's `Conv`.
 *
 * @module
 */
import type * as Ort from "onnxruntime-node";
import { floatValueInfo, OnnxGraphBuilder } from "../export/onnx_builder.ts";

/** onnxruntime's operator domain of the NCHWc ops. */
export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/** The shape of a 2-D conv, as {@link nchwcConv} needs it. */
export interface NchwcConvSpec {
  /** Input and output channels. */
  cin: number;
  cout: number;
  /** Kernel (square, or `[height, width]`), stride, padding (all four sides), dilation. */
  kernel: number | [number, number];
  stride: number;
  padding: number;
  dilation: number;
  /** One group per channel (cin = cout), else one group. */
  depthwise: boolean;
}

/** The kernel's `[height, width]`. */
function kernelSize(spec: NchwcConvSpec): [number, number] {
  return typeof spec.kernel === "number" ? [spec.kernel, spec.kernel] : spec.kernel;
}

/**
 * Whether the conv is worth and fit for the NCHWc kernel at `block` channels per block: a kernel
 * larger than 1×1 (a 1×1 conv is already one matrix product and gained nothing), every channel
 * count a multiple of the block (no padded channels).
 */
export function nchwcFits(spec: NchwcConvSpec, block: number): boolean {
  const [kh, kw] = kernelSize(spec);
  if (block <= 1 || (kh === 1 && kw === 1)) return false;
  return spec.cin % block === 0 && spec.cout % block === 0 && (!spec.depthwise ||
    spec.cin === spec.cout);
}

/**
 * Appends the conv of `x` (NCHW) with `w` (PyTorch layout, `[cout, cin / groups, k, k]`) and an
 * optional bias as NCHWc ops: the input reordered into blocks, the weights rearranged to the
 * kernel's blocked layout in the graph (depthwise `[C/b, k·k, b]`, dense
 * `[cout/b, cin/b, kh·kw, b_in, b_out]`), the conv, the output back to NCHW. Returns the output's
 * name. The caller checks {@link nchwcFits} first.
 */
export function nchwcConv(
  b: OnnxGraphBuilder,
  x: string,
  w: string,
  bias: string | undefined,
  spec: NchwcConvSpec,
  block: number,
): string {
  const { cin, cout, stride: s, padding: p, dilation: d } = spec;
  const [kh, kw] = kernelSize(spec);
  const taps = kh * kw;
  // depthwise [C, 1, kh, kw] → [C/b, kh·kw, b]; dense [O, I, kh, kw] → [O/b, I/b, kh·kw, b, b]
  const blocked = spec.depthwise
    ? b.node("Transpose", [
      b.node("Reshape", [
        w,
        b.int64(`const.nchwc_dw_${cout}_${taps}_${block}`, [3], [
          cout / block,
          block,
          taps,
        ]),
      ]),
    ], { perm: [0, 2, 1] })
    : b.node("Transpose", [
      b.node("Reshape", [
        w,
        b.int64(`const.nchwc_w_${cout}_${cin}_${taps}_${block}`, [5], [
          cout / block,
          block,
          cin / block,
          block,
          taps,
        ]),
      ]),
    ], { perm: [0, 2, 4, 3, 1] });
  const wShape = [cout, spec.depthwise ? 1 : cin, kh, kw];
  const wBlocked = b.node("Reshape", [blocked, b.int64(`const.shape_${wShape}`, [4], wShape)]);
  const xBlocked = b.node("ReorderInput", [x], {}, { domain: NCHWC_DOMAIN });
  const y = b.node("Conv", bias ? [xBlocked, wBlocked, bias] : [xBlocked, wBlocked], {
    kernel_shape: [kh, kw],
    strides: [s, s],
    pads: [p, p, p, p],
    dilations: [d, d],
    group: spec.depthwise ? cin : 1,
  }, { domain: NCHWC_DOMAIN });
  return b.node("ReorderOutput", [y], { channels: cout }, { domain: NCHWC_DOMAIN });
}

/**
 * The channels per NCHWc block of this onnxruntime on this CPU (8 with AVX2, 16 with AVX-512),
 * from the channel count `ReorderInput` rounds 4 channels up to; 0 when the op is missing (a
 * build or CPU without it), fails, or blocks fewer than 8 channels (SSE only, or no blocking).
 */
export async function nchwcBlock(ort: typeof Ort): Promise<number> {
  const b = new OnnxGraphBuilder();
  b.fresh("x");
  const y = b.node("ReorderInput", ["x"], {}, { domain: NCHWC_DOMAIN, outputs: ["y"] });
  const model = b.encode({
    name: "nchwc_probe",
    inputs: [floatValueInfo("x", [1, 4, 1, 1])],
    outputs: [floatValueInfo(y, [1, "C", 1, 1])],
  });
  let session: Ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(model, { logSeverityLevel: 4 });
    const out = await session.run({
      x: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
    });
    const block = out[y].dims[1];
    return block >= 8 ? block : 0;
  } catch {
    return 0;
  } finally {
    await session?.release();
  }
}
