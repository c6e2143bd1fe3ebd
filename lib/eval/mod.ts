/**
 * Detection evaluation: COCO (pycocotools `COCOeval` for boxes) and PASCAL VOC (py-faster-rcnn
 * `voc_eval`, 11-point and all-point), the readers of their input files, and the report forms
 * of `ssd eval`. PR-curve drawing (`plots.ts`, `plot_report.ts`) is imported separately: it
 * loads imagescript, which needs `--allow-ffi`.
 *
 * @module
 */
export * from "./coco.ts";
export * from "./voc.ts";
export * from "./readers.ts";
export * from "./evaluate.ts";
export * from "./report.ts";
