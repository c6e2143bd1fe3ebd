/**
 * Text rendering for drawn detections and plots, with the font the repo ships
 * (`assets/fonts/DejaVuSans-Bold.ttf`, so fresh clones and compiled binaries have it).
 *
 * The rasterizer is imagescript's own (its `font` wasm module, fontdue). `Image.renderText`
 * instantiates that module and parses the 700 kB font on every call (~60 ms, ~400 ms on a busy
 * machine), which made drawing 48 labels take 3 s; here the module and the parsed font are
 * made once per process and one line of text costs a fraction of a millisecond. The layout is
 * the one `Image.renderText` gives (same module, same calls); one font parsed for 16 px serves
 * every size, so edge pixels at other sizes differ from it by a few levels of coverage.
 *
 * @module
 */
import { Image } from "imagescript";
// imagescript's font module (CommonJS, untyped: the shape used is `FontLib` below).
import fontlib from "imagescript/wasm/node/font.js";

const FONT_URL = new URL("../../assets/fonts/DejaVuSans-Bold.ttf", import.meta.url);

/** The parts of imagescript's font module used here. */
interface FontLib {
  Font: new (scale: number, bytes: Uint8Array) => { ptr: number };
  Layout: new () => {
    reset(options: Record<string, unknown>): void;
    append(font: { ptr: number }, text: string, init: { scale: number }): void;
    rasterize(r: number, g: number, b: number): {
      width: number;
      height: number;
      buffer: Uint8Array;
    };
  };
}

let engine: Promise<{ font: { ptr: number }; layout: InstanceType<FontLib["Layout"]> }> | undefined;

/** imagescript's `TextLayout` defaults, as `Image.renderText` passes them. */
const LAYOUT = {
  max_width: Infinity,
  max_height: Infinity,
  wrap_style: "word",
  vertical_align: "left",
  horizontal_align: "top",
  wrap_hard_breaks: true,
};

/**
 * The font module captures `Deno.core.encode`/`decode` when it is instantiated, and Deno 2 no
 * longer exposes `Deno.core`: a minimal stand-in is there while it is made, then removed again
 * so nothing else sees it.
 */
async function instantiate(): Promise<
  { font: { ptr: number }; layout: InstanceType<FontLib["Layout"]> }
> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(FONT_URL);
  } catch (err) {
    throw new Error(`Cannot draw text: cannot read the font ${FONT_URL.pathname}: ${err}`);
  }
  const deno = Deno as unknown as Record<string, unknown>;
  const shim = !("core" in deno);
  if (shim) {
    deno.core = {
      encode: (s: string) => new TextEncoder().encode(s),
      decode: (b: Uint8Array) => new TextDecoder().decode(b),
    };
  }
  try {
    const { Font, Layout } = await (fontlib as { init(): Promise<FontLib> }).init();
    // One parsed font serves every size: the layout takes the scale per call.
    return { font: new Font(16, bytes), layout: new Layout() };
  } finally {
    if (shim) delete deno.core;
  }
}

/**
 * Renders one line of text, `size` pixels high, in `ink` (RGBA as `0xRRGGBBAA`) on a
 * transparent image of the text's size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderText } from "./text.ts";
 * const img = await renderText("face 0.98", 16, 0x000000ff);
 * assert.ok(img.width > img.height && img.height >= 16);
 * ```
 */
export async function renderText(text: string, size: number, ink: number): Promise<Image> {
  engine ??= instantiate().catch((err) => {
    engine = undefined;
    throw err;
  });
  const { font, layout } = await engine;
  layout.reset(LAYOUT);
  layout.append(font, text, { scale: size });
  const frame = layout.rasterize(ink >>> 24, (ink >>> 16) & 0xff, (ink >>> 8) & 0xff);
  const image = new Image(Math.max(1, frame.width), Math.max(1, frame.height));
  if (frame.width > 0 && frame.height > 0) image.bitmap.set(frame.buffer);
  const alpha = ink & 0xff;
  if (alpha !== 0xff) {
    for (let i = 3; i < image.bitmap.length; i += 4) {
      image.bitmap[i] = Math.round((image.bitmap[i] * alpha) / 0xff);
    }
  }
  return image;
}
