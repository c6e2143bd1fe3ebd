"""PyTorch side of the matching and loss rows of `deno task bench`, and the loss of
`torch_train_step.py`: torchvision 0.14's `SSD` training path split in two.

- `match_targets`: `SSD.forward`'s matching (box_iou, SSDMatcher at IoU 0.5 with the best prior
  per ground truth forced) and `SSD.compute_loss`'s target building (BoxCoder weights 10, 10,
  5, 5 = variances 0.1, 0.2, encoding the matched priors only, as torchvision does);
- `multibox_loss`: the rest of `SSD.compute_loss` (smooth L1 + cross-entropy with hard
  negative mining 3:1, both over max(1, positives)).
"""
import json

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import boxes as box_ops


def cxcywh_to_xyxy(priors):
    return torch.cat([priors[:, :2] - priors[:, 2:] / 2, priors[:, :2] + priors[:, 2:] / 2], 1)


def match_targets(targets, anchors_xyxy, matcher, coder):
    """Per image: (indices of matched priors, their encoded boxes); and cls targets [B, P]."""
    fg_targets, cls_targets = [], []
    for t in targets:
        matched = matcher(box_ops.box_iou(t["boxes"], anchors_xyxy))
        fg = torch.where(matched >= 0)[0]
        fg_matched = matched[fg]
        fg_targets.append((fg, coder.encode_single(t["boxes"][fg_matched], anchors_xyxy[fg, :])))
        gt = torch.zeros((anchors_xyxy.size(0),), dtype=t["labels"].dtype, device=anchors_xyxy.device)
        gt[fg] = t["labels"][fg_matched]
        cls_targets.append(gt)
    return fg_targets, torch.stack(cls_targets)


def multibox_loss(cls_logits, bbox_regression, fg_targets, cls_targets, neg_pos=3):
    """cls_logits [B, P, C], bbox_regression [B, P, 4] → the scalar loss."""
    bbox_loss = torch.stack([F.smooth_l1_loss(reg[fg, :], target, reduction="sum")
                             for reg, (fg, target) in zip(bbox_regression, fg_targets)])
    num_foreground = sum(fg.numel() for fg, _ in fg_targets)
    c = cls_logits.size(-1)
    cls_loss = F.cross_entropy(cls_logits.view(-1, c), cls_targets.view(-1), reduction="none").view(cls_targets.size())
    foreground = cls_targets > 0
    num_negative = neg_pos * foreground.sum(1, keepdim=True)
    negative_loss = cls_loss.clone()
    negative_loss[foreground] = -float("inf")
    _, idx = negative_loss.sort(1, descending=True)
    background = idx.sort(1)[1] < num_negative
    n = max(1, num_foreground)
    return bbox_loss.sum() / n + (cls_loss[foreground].sum() + cls_loss[background].sum()) / n


def _read_inputs(spec):
    priors = torch.from_numpy(np.fromfile(spec["priors"], dtype="<f4").reshape(-1, 4))
    targets = [{"boxes": torch.tensor(t["boxes"]).view(-1, 4), "labels": torch.tensor(t["labels"])}
               for t in json.load(open(spec["targets"]))]
    return cxcywh_to_xyxy(priors), targets


def setup_match_loss(spec, device):
    """`{task: match | loss_grads, priors, targets, classes}` → a run() of the batch."""
    anchors, targets = _read_inputs(spec)
    matcher = det_utils.SSDMatcher(0.5)
    coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    if spec["task"] == "match":
        def run():
            fg_targets, _ = match_targets(targets, anchors, matcher, coder)
            return {"positives": sum(fg.numel() for fg, _ in fg_targets)}
        return run
    fg_targets, cls_targets = match_targets(targets, anchors, matcher, coder)
    gen = torch.Generator().manual_seed(1)
    b, p, c = len(targets), anchors.size(0), spec["classes"]
    loc = (torch.randn(b, p, 4, generator=gen) * 1.5).requires_grad_()
    logits = (torch.randn(b, p, c, generator=gen) * 2).requires_grad_()

    def run():
        loc.grad = logits.grad = None
        loss = multibox_loss(logits, loc, fg_targets, cls_targets)
        loss.backward()
        return {"loss": loss.item()}
    return run
