/**
 * ssd: the Single Shot MultiBox Detector (Liu et al., ECCV 2016) as a TypeScript library.
 *
 * Boxes inside the library are normalized `[0, 1]` corner form `xyxy`; priors are center form
 * `cxcywh`. Class index 0 is background.
 *
 * @module
 */
export * from "./errors.ts";
