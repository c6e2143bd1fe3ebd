/**
 * Detection evaluation: COCO (pycocotools `COCOeval` for boxes) and PASCAL VOC (py-faster-rcnn
 * `voc_eval`, 11-point and all-point), the readers and writers of their results files, P/R/F1
 * against confidence and the confusion matrix, and the report forms of `ssd eval`. Drawing
 * (`plots.ts`, `summary_plots.ts`, `confusion_plot.ts`, `plot_report.ts`) is imported
 * separately: it loads imagescript, which needs `--allow-ffi`.
 *
 * @module
 */
export * from "./coco.ts";
export * from "./voc.ts";
export * from "./readers.ts";
export * from "./writers.ts";
export * from "./confidence_curves.ts";
export * from "./confusion.ts";
export * from "./evaluate.ts";
export * from "./report.ts";
export type { DatasetDetection } from "./dataset_eval.ts";
