"""PyTorch side of the NMS row of `deno task bench` (`nms_task.ts` is ours): the selection half
of torchvision 0.14's `SSD.postprocess_detections` on decoded boxes and class probabilities
(clip to the image, per class score > threshold and top-k, `batched_nms`, the best
`maxDetections`), on the arrays `inputs.ts` wrote.
"""
import numpy as np
import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import boxes as box_ops


def setup_nms(spec, device):
    """`{boxes, scores, classes, post}` → a run() answering how many detections it kept."""
    c = spec["classes"]
    boxes = torch.from_numpy(np.fromfile(spec["boxes"], dtype="<f4").reshape(-1, 4))
    scores = torch.from_numpy(np.fromfile(spec["scores"], dtype="<f4").reshape(-1, c))
    post = spec["post"]

    def run():
        b = box_ops.clip_boxes_to_image(boxes, (1, 1)) if post["clipBoxes"] else boxes
        image_boxes, image_scores, image_labels = [], [], []
        for label in range(1, c):
            score = scores[:, label]
            keep = score > post["scoreThreshold"]
            score, box = score[keep], b[keep]
            score, idxs = score.topk(det_utils._topk_min(score, post["topKPerClass"], 0))
            image_boxes.append(box[idxs])
            image_scores.append(score)
            image_labels.append(torch.full_like(score, fill_value=label, dtype=torch.int64))
        image_boxes = torch.cat(image_boxes, 0)
        image_scores = torch.cat(image_scores, 0)
        image_labels = torch.cat(image_labels, 0)
        keep = box_ops.batched_nms(image_boxes, image_scores, image_labels, post["nmsIou"])
        return {"kept": int(keep[: post["maxDetections"]].numel())}
    return run
