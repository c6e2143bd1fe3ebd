"""PyTorch side of the training-step rows of `deno task bench` (`train_step_task.ts` is ours):
one SGD step of the same networks at the same batch, run by `torch_worker.py`.

A step is what `trainStep` does: forward in training mode (BatchNorm on batch statistics),
torchvision's SSDMatcher (IoU 0.5, best prior per ground truth forced) and BoxCoder (weights
10, 10, 5, 5 = variances 0.1, 0.2), `SSD.compute_loss` as `torch_match_loss.py` splits it (smooth L1 + cross-entropy
with hard negative mining 3:1, both over max(1, positives)), backward, torch.optim.SGD momentum 0.9, weight
decay 5e-4. Random weights and seeded random images / boxes, as ours.
- `tiny`: lib/model/tiny.ts (13 conv + BN + ReLU, sources after layers 4, 6, 8, 10, 12) with
  torchvision's SSDHead (a 3×3 conv per map for classes and for boxes), 5 classes, 2390 priors.
- `face-slim-320`: UltraFace slim as bench/torch_forward.py defines it, 2 classes, 4420 priors.
"""
import math
import os
import sys

import torch
from torchvision.models.detection import _utils as det_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_forward import UltraFace  # noqa: E402
from torch_match_loss import cxcywh_to_xyxy, match_targets, multibox_loss  # noqa: E402

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


def random_targets(batch, classes, gen):
    """1–4 boxes of 5–60 % of the side per image, normalized xyxy (as train_step_task.ts)."""
    out = []
    for _ in range(batch):
        g = int(torch.randint(1, 5, (1,), generator=gen))
        wh = 0.05 + torch.rand(g, 2, generator=gen) * 0.55
        xy = torch.rand(g, 2, generator=gen) * (1 - wh)
        out.append({"boxes": torch.cat([xy, xy + wh], 1),
                    "labels": torch.randint(1, classes, (g,), generator=gen)})
    return out


def setup_train_step(spec, device):
    """`{model: tiny | face-slim-320, batch}` → a run() of one SGD step on `device` (cpu, cuda)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(7)
    name, batch = spec["model"], spec["batch"]
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
        raise ValueError(f"unknown model {name}")
    model.to(device).train()
    anchors = cxcywh_to_xyxy(priors).to(device)
    matcher = det_utils.SSDMatcher(0.5)
    coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    x = (torch.rand(batch, 3, *size, generator=gen) * 2 - 1).to(device)
    targets = [{k: v.to(device) for k, v in t.items()} for t in random_targets(batch, classes, gen)]

    def run():
        opt.zero_grad(set_to_none=True)
        cls_logits, loc = forward(x)
        fg_targets, cls_targets = match_targets(targets, anchors, matcher, coder)
        loss = multibox_loss(cls_logits, loc, fg_targets, cls_targets)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}
    return run
