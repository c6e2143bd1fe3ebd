"""PyTorch side of the training-step benchmark (`bench/train_step_bench.ts` is ours): one SGD step
of the same networks at the same batch on this machine's CPU, measured in the same run.

    /usr/bin/python3 bench/torch_train_step.py --threads 2 --runs 5 [--batch 16]
        [--models tiny,face-slim-320]

Prints one JSON object: {"torch": version, "threads": n, "models": {name: {"batch": b, "ms": median}}}.

A step is what `trainStep` does: forward in training mode (BatchNorm on batch statistics),
torchvision's SSDMatcher (IoU 0.5, best prior per ground truth forced) and BoxCoder (weights
10, 10, 5, 5 = variances 0.1, 0.2), `SSD.compute_loss` (smooth L1 + cross-entropy with hard
negative mining 3:1, both over max(1, positives)), backward, torch.optim.SGD momentum 0.9, weight
decay 5e-4. Random weights and seeded random images / boxes, as ours.
- `tiny`: lib/model/tiny.ts (13 conv + BN + ReLU, sources after layers 4, 6, 8, 10, 12) with
  torchvision's SSDHead (a 3×3 conv per map for classes and for boxes), 5 classes, 2390 priors.
- `face-slim-320`: UltraFace slim as bench/torch_forward.py defines it, 2 classes, 4420 priors.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import boxes as box_ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_forward import UltraFace  # noqa: E402

# [in, out, kernel, stride, padding] of each tiny layer, as lib/model/tiny.ts.
# tiny in PyTorch, defined once: the training-parity fixture script's TinySsd (same names as ours)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "train"))
from make_train_fixtures import TinySsd  # noqa: E402


def ssd_priors(sizes, scales, ratios):
    """The SSD rule (lib/priors.ts `ssd`): cxcywh per cell: s, √(s·s'), then (s√a, s/√a) pairs."""
    out = []
    for k, f in enumerate(sizes):
        s, nxt = scales[k], scales[k + 1]
        wh = [(s, s), (math.sqrt(s * nxt),) * 2]
        for a in ratios[k]:
            wh += [(s * math.sqrt(a), s / math.sqrt(a)), (s / math.sqrt(a), s * math.sqrt(a))]
        out += [((j + 0.5) / f, (i + 0.5) / f, w, h) for i in range(f) for j in range(f) for w, h in wh]
    return torch.tensor(out).clamp(0, 1)


def ultraface_priors():
    """UltraFace's min_boxes rule at 320×240 (lib/config.ts ULTRAFACE_LAYERS)."""
    layers = [((30, 40), (8, 8), (10, 16, 24)), ((15, 20), (16, 16), (32, 48)),
              ((8, 10), (30, 32), (64, 96)), ((4, 5), (60, 64), (128, 192, 256))]
    out = []
    for (fh, fw), (sy, sx), sizes in layers:
        out += [((j + 0.5) * sx / 320, (i + 0.5) * sy / 240, s / 320, s / 240)
                for i in range(fh) for j in range(fw) for s in sizes]
    return torch.tensor(out).clamp(0, 1)


def compute_loss(cls_logits, bbox_regression, targets, anchors_xyxy, matcher, coder, neg_pos=3):
    """torchvision 0.14 `SSD.compute_loss`, with the matching of `SSD.forward` first."""
    bbox_loss, cls_targets, num_foreground = [], [], 0
    for t, reg, anchors in zip(targets, bbox_regression, [anchors_xyxy] * len(targets)):
        matched = matcher(box_ops.box_iou(t["boxes"], anchors))
        fg = torch.where(matched >= 0)[0]
        fg_matched = matched[fg]
        num_foreground += fg_matched.numel()
        target_reg = coder.encode_single(t["boxes"][fg_matched], anchors[fg, :])
        bbox_loss.append(F.smooth_l1_loss(reg[fg, :], target_reg, reduction="sum"))
        gt = torch.zeros((reg.size(0),), dtype=t["labels"].dtype)
        gt[fg] = t["labels"][fg_matched]
        cls_targets.append(gt)
    bbox_loss = torch.stack(bbox_loss)
    cls_targets = torch.stack(cls_targets)
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


def random_targets(batch, classes, gen):
    """1–4 boxes of 5–60 % of the side per image, normalized xyxy (as train_step_bench.ts)."""
    out = []
    for _ in range(batch):
        g = int(torch.randint(1, 5, (1,), generator=gen))
        wh = 0.05 + torch.rand(g, 2, generator=gen) * 0.55
        xy = torch.rand(g, 2, generator=gen) * (1 - wh)
        out.append({"boxes": torch.cat([xy, xy + wh], 1),
                    "labels": torch.randint(1, classes, (g,), generator=gen)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--models", default="tiny,face-slim-320")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(7)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "models": {}}
    for name in args.models.split(","):
        if name == "tiny":
            model, classes, size = TinySsd(5, [4, 6, 6, 4, 4]), 5, (160, 160)
            forward = lambda x, m=model: m(x)[::-1]  # TinySsd gives (loc, cls)
            priors = ssd_priors([20, 10, 5, 3, 1], [0.08, 0.2, 0.38, 0.56, 0.76, 0.96],
                                [[2], [2, 3], [2, 3], [2], [2]])
        elif name == "face-slim-320":
            model, classes, size = UltraFace(rfb=False), 2, (240, 320)
            forward = model
            priors = ultraface_priors()
        else:
            raise SystemExit(f"error: unknown model {name}")
        model.train()
        anchors = torch.cat([priors[:, :2] - priors[:, 2:] / 2, priors[:, :2] + priors[:, 2:] / 2], 1)
        matcher = det_utils.SSDMatcher(0.5)
        coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        x = torch.rand(args.batch, 3, *size, generator=gen) * 2 - 1
        targets = random_targets(args.batch, classes, gen)

        def step():
            opt.zero_grad(set_to_none=True)
            cls_logits, loc = forward(x)
            loss = compute_loss(cls_logits, loc, targets, anchors, matcher, coder)
            loss.backward()
            opt.step()
            return loss.item()

        step()  # warm-up
        samples = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            step()
            samples.append((time.perf_counter() - t0) * 1000)
        out["models"][name] = {"batch": args.batch, "ms": statistics.median(samples),
                               "samples": [round(s) for s in samples]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
