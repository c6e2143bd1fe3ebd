/**
 * Text rendering for drawn detections and plots: imagescript's TrueType renderer with the font
 * the repo ships (`assets/fonts/DejaVuSans-Bold.ttf`, so fresh clones and compiled binaries
 * have it).
 *
 * @module
 */
import { Image } from "imagescript";

const FONT_URL = new URL("../../assets/fonts/DejaVuSans-Bold.ttf", import.meta.url);
let fontBytes: Promise<Uint8Array> | undefined;

function loadFont(): Promise<Uint8Array> {
  fontBytes ??= Deno.readFile(FONT_URL).catch((err) => {
    fontBytes = undefined;
    throw new Error(`Cannot draw text: cannot read the font ${FONT_URL.pathname}: ${err}`);
  });
  return fontBytes;
}

/**
 * imagescript 1.3's text renderer calls `Deno.core.encode`, which Deno 2 no longer exposes.
 * While text renders, a minimal `Deno.core` with `encode`/`decode` stands in for it, and is
 * removed again afterwards so nothing else sees it.
 */
let shimUsers = 0;

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
  const font = await loadFont();
  const deno = Deno as unknown as Record<string, unknown>;
  const shim = !("core" in deno) || shimUsers > 0;
  if (shim) {
    shimUsers++;
    deno.core ??= {
      encode: (s: string) => new TextEncoder().encode(s),
      decode: (b: Uint8Array) => new TextDecoder().decode(b),
    };
  }
  try {
    return await Image.renderText(font, size, text, ink);
  } finally {
    if (shim && --shimUsers === 0) delete deno.core;
  }
}
