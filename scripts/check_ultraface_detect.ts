/**
 * End-to-end check of `face-slim-320` and `face-rfb-320` against the PyTorch reference on every
 * public UltraFace image (../shared/data/ultraface/public): decode, cv2 resize, network, NMS.
 *
 *   deno run -A scripts/check_ultraface_detect.ts [--backend wasm|cpu]
 *
 * Prints, per model and threshold, the images whose count differs and the largest box and
 * score differences; exits 1 when any image is off (count, box > 1 px, score > 1e-3).
 */
import { loadDetector } from "../lib/detector.ts";
import { readImage } from "../lib/data/image.ts";
import { initBackend } from "../lib/engine/tfjs.ts";
import { flag } from "./args.ts";
import { compareWithReference, type ReferenceFile } from "../tests/ultraface_reference.ts";

const root = new URL("../../shared/data/ultraface/", import.meta.url).pathname;
const backend = flag("--backend", "wasm") as "wasm" | "cpu";
await initBackend(backend);
const manifest = JSON.parse(await Deno.readTextFile(`${root}public/manifest.json`));
let bad = 0;
for (const [model, key] of [["face-slim-320", "slim320"], ["face-rfb-320", "rfb320"]]) {
  const detector = await loadDetector(model);
  for (const thr of ["0.7", "0.6", "0.3"]) {
    let maxBox = 0, maxScore = 0, total = 0;
    const off: string[] = [];
    for (const { file } of manifest.images) {
      const stem = file.replace(/\.jpg$/, "");
      const ref: ReferenceFile = JSON.parse(
        await Deno.readTextFile(`${root}public/${stem}/${key}_detections.json`),
      );
      const image = await readImage(`${root}images/${file}`);
      const ours = await detector.detect(image, { scoreThreshold: Number(thr) });
      const c = compareWithReference(ours, ref.thresholds[thr].detections, image);
      maxBox = Math.max(maxBox, c.maxBoxPx);
      maxScore = Math.max(maxScore, c.maxScore);
      total += c.countReference;
      if (c.countOurs !== c.countReference || c.unpaired > 0) {
        off.push(
          `${file} (ours ${c.countOurs}, reference ${c.countReference}, unpaired ${c.unpaired})`,
        );
      }
    }
    bad += off.length;
    console.log(
      `${model} @ ${thr}: ${manifest.images.length} images, ${total} detections, ` +
        `max |Δbox| ${maxBox.toFixed(4)} px, max |Δscore| ${maxScore.toExponential(2)}` +
        (off.length ? `; OFF: ${off.join(", ")}` : "; all equal"),
    );
  }
  await detector.dispose();
}
Deno.exit(bad > 0 ? 1 : 0);
