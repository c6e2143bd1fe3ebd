/**
 * The data types shared by readers, augmentation, the loader, detection and drawing.
 */

/** An 8-bit RGB image, row-major HWC (`data.length === width * height * 3`). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One ground-truth object, in pixels of its image (0-based, continuous `xyxy`). */
export interface GtObject {
  /** `[x1, y1, x2, y2]` in pixels; VOC's 1-based inclusive boxes become `[xmin-1, ymin-1, xmax, ymax]`. */
  bboxPx: [number, number, number, number];
  /** Index into the dataset's `classes` (0-based; the model's label is `classIndex + 1`). */
  classIndex: number;
  /** VOC `difficult` or COCO `iscrowd`: neither a positive nor a false positive in eval. */
  difficult: boolean;
}

/** One image of a dataset with its annotations. */
export interface Sample {
  /** A stable id: the VOC file stem, the COCO image id as text, the YOLO file stem. */
  id: string;
  /** Path of the image file. */
  imagePath: string;
  /** Width and height as the annotation states them (0 when it does not). */
  width: number;
  height: number;
  objects: GtObject[];
}

/** A detection dataset read from disk. */
export interface Dataset {
  format: "voc" | "coco" | "yolo";
  /** Where it was read from. */
  root: string;
  /** Class names without background. */
  classes: string[];
  samples: Sample[];
}
