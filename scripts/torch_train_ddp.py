"""Scale-out training of our SSD models in PyTorch: start from a .pth that `ssd export` (or
lib/export/torch_pth.ts) wrote, train on one of our dataset folders with DistributedDataParallel,
write a .pth with the same state-dict names that `ssd detect --model result.pth` loads.

    torchrun --nproc_per_node=N scripts/torch_train_ddp.py --init tiny.pth --data DATA \\
        --out result.pth [--steps 1000 | --epochs 10] [--batch 16] [--lr 0.002] ...
    (/usr/bin/python3 -m torch.distributed.run … where torchrun is not on PATH; without torchrun
    the script trains in one process.)

The PyTorch side of `ssd train`'s recipe, e.g. the raccoon fine-tune of weights/README.md:
    ssd export --model face-slim-320 --format torch --out face-slim-320.pth
    python3 scripts/torch_train_ddp.py --init face-slim-320.pth --data RACCOON --set train \
        --out ref.pth --epochs 100 --batch 16 --lr 0.01 --warmup 8 --schedule cosine \
        --augment ssd --new-heads --classes raccoon --workers 1 --seed 1
    ssd eval --model ref.pth --data RACCOON --set val --metric all

Backend: nccl when CUDA is available (one GPU per local rank), gloo on CPU. Each rank reads its
own shard of every epoch (DistributedSampler); --batch is per rank.

Networks (the same PyTorch definitions the parity tests use, so the names match ours):
  vgg16              torchvision ssd300_vgg16 (SSD512: torchvision's _vgg_extractor(highres=True)
                     + SSDHead), backbone + head
  mobilenet_v3_large torchvision ssdlite320_mobilenet_v3_large(weights=None,
                     weights_backbone=None) (reduced tail), backbone + head
  tiny               TinySsd of fixtures/train/make_train_fixtures.py
  ultraface_*        UltraFace of bench/torch_forward.py (2 classes)
The config (input size, normalization, classes, priors) is not restated here: rank 0 asks our
own library for it (`resolveConfig(init)` + `generatePriors`, via `deno eval` in this repo),
or reads --spec FILE (the same JSON) on machines without Deno.

Training is torchvision's detection recipe reduced to its core, as fixtures/train checks it
against lib/train: SSDMatcher(0.5) on IoU with our priors (normalized xyxy), SSD.compute_loss
(BoxCoder weights 10, 10, 5, 5; smooth L1 + cross-entropy with 3:1 hard negatives, both over
the positives), SGD with momentum 0.9 and weight decay 5e-4 on every parameter, optional linear
warm-up, then constant or (--schedule cosine) cosine to zero over the steps, as lib/train/schedule.ts.
Images: decoded with OpenCV, RGB, cv2.resize INTER_LINEAR to the input size (our `cv2` resize),
(px − mean)/std. --augment flip (default): horizontal flip with p = 0.5 only. --augment ssd:
torchvision's detection reference `ssd` preset before the resize, written out here in numpy
(references/detection/transforms.py: RandomPhotometricDistort, RandomZoomOut filled with the
config's mean, RandomIoUCrop, RandomHorizontalFlip), an independent implementation of what
lib/data/augment.ts does. --new-heads starts the classification heads afresh (PyTorch's own
reset_parameters), as `ssd train --init` does when the classes change.

Dataset: a VOC root (Annotations/*.xml, JPEGImages/); the image list is
ImageSets/Main/<set>.txt, else <root>/<set>.txt, else every annotation (--set, default: trainval,
then train). Boxes 1-based inclusive pixels → [xmin − 1, ymin − 1, xmax, ymax] / (W, H), as
lib/data/box_px.ts. Class indices: --classes, else the config's own order when the dataset has
exactly its classes, else the sorted names (as `ssd train`), with a warning. Beside the output
.pth goes `<name>.ssd.json` (the config with these class names), which `ssd detect --model
<name>.pth` reads.
"""
import argparse
import json
import re
import math
import os
import random
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "fixtures", "train"))

SPEC_CODE = """
import { resolveConfig } from "./lib/model/load.ts";
import { boxesPerCell } from "./lib/config.ts";
import { generatePriors } from "./lib/priors.ts";
const [init, arch] = %s;
const config = await resolveConfig(init, arch ? { arch } : {});
console.log(JSON.stringify({ config, anchors: boxesPerCell(config), priors: Array.from(generatePriors(config)) }));
"""


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--init", required=True, help="start weights (.pth with our/torchvision names)")
    ap.add_argument("--data", required=True, help="VOC dataset root")
    ap.add_argument("--out", required=True, help="the .pth to write (rank 0, at the end)")
    ap.add_argument("--arch", help="config name when the .pth's keys are ambiguous (ssd300, ssd300-coco, ...)")
    ap.add_argument("--spec", help="JSON {config, anchors, priors} instead of asking deno")
    ap.add_argument("--set", help="image list name (default: trainval, then train, then all)")
    ap.add_argument("--classes", help="comma-separated class names in label order (1, 2, ...)")
    ap.add_argument("--steps", type=int, help="optimizer steps (default: --epochs)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8, help="images per rank per step")
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=0, help="linear warm-up steps")
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                    help="after the warm-up: constant, or cosine to zero at the last step")
    ap.add_argument("--augment", choices=["flip", "ssd"], default="flip",
                    help="flip: horizontal flip only; ssd: torchvision's ssd preset")
    ap.add_argument("--new-heads", action="store_true", help="re-initialise the classification heads")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers per rank")
    ap.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm (nccl only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=10)
    return ap.parse_args()


# ---------------------------------------------------------------------------------- the spec

def make_spec(args):
    """{config, anchors, priors} from our library (one implementation of configs and priors)."""
    if args.spec:
        with open(args.spec) as f:
            return json.load(f)
    deno = shutil.which("deno")
    if deno is None:
        raise SystemExit("error: deno is not on PATH; pass --spec (JSON {config, anchors, priors})")
    code = SPEC_CODE % json.dumps([os.path.abspath(args.init), args.arch])
    r = subprocess.run([deno, "eval", "--quiet", code], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"error: {args.init}: cannot resolve its config: {r.stderr.strip()}")
    return json.loads(r.stdout)


# -------------------------------------------------------------------------------- the network

class Detector(nn.Module):
    """Our prediction contract on top of a PyTorch definition: NCHW images → (loc [B, P, 4],
    logits [B, P, C]) in prior order. `inner` holds exactly the state-dict names we use."""

    def __init__(self, inner, kind):
        super().__init__()
        self.inner = inner
        self.kind = kind

    def forward(self, x):
        if self.kind == "tv":
            out = self.inner.head(list(self.inner.backbone(x).values()))
            return out["bbox_regression"], out["cls_logits"]
        if self.kind == "loc_logits":
            return self.inner(x)
        logits, loc = self.inner(x)
        return loc, logits


def build_inner(config, anchors, num_classes):
    arch = config["arch"]
    if arch == "vgg16":
        from torchvision.models import vgg16
        from torchvision.models.detection import ssd as tv_ssd
        if config["imageSize"] == [300, 300]:
            return tv_ssd.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=num_classes), "tv"
        model = nn.Module()  # SSD512: the highres extractor of torchvision + its SSDHead
        model.backbone = tv_ssd._vgg_extractor(vgg16(weights=None), True, 5)
        model.head = tv_ssd.SSDHead([512, 1024, 512, 256, 256, 256, 256], anchors, num_classes)
        return model, "tv"
    if arch == "mobilenet_v3_large":
        from torchvision.models.detection import ssdlite320_mobilenet_v3_large
        return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes), "tv"
    if arch == "tiny":
        from make_train_fixtures import TinySsd
        return TinySsd(num_classes=num_classes, anchors=anchors), "loc_logits"
    if arch in ("ultraface_slim", "ultraface_rfb"):
        from torch_forward import UltraFace
        if num_classes != 2:
            raise SystemExit(f"error: UltraFace has 2 classes, the config {config['name']} {num_classes}")
        return UltraFace(rfb=arch == "ultraface_rfb"), "logits_loc"
    raise SystemExit(f"error: no PyTorch definition for arch {arch}")


# -------------------------------------------------------------------------------- the dataset

def voc_ids(root, name):
    """Image ids of the list `name` (or the default lists), else of every annotation."""
    names = [name] if name else ["trainval", "train"]
    for n in names:
        for path in (os.path.join(root, "ImageSets", "Main", f"{n}.txt"), os.path.join(root, f"{n}.txt")):
            if os.path.isfile(path):
                with open(path) as f:
                    return [line.split()[0] for line in f if line.strip()], path
    if name:
        raise SystemExit(f"error: {root}: no image list {name}.txt in ImageSets/Main/ or the root")
    ann = os.path.join(root, "Annotations")
    return sorted(f[:-4] for f in os.listdir(ann) if f.endswith(".xml")), ann


def read_voc(root, ids):
    samples = []
    for i in ids:
        path = os.path.join(root, "Annotations", f"{i}.xml")
        tree = ET.parse(path).getroot()
        filename = (tree.findtext("filename") or f"{i}.jpg").strip()
        image = os.path.join(root, "JPEGImages", filename)
        if not os.path.isfile(image):
            image = next((os.path.join(root, "JPEGImages", f"{i}{e}") for e in (".jpg", ".jpeg", ".png")
                          if os.path.isfile(os.path.join(root, "JPEGImages", f"{i}{e}"))), image)
        objects = []
        for o in tree.findall("object"):
            b = o.find("bndbox")
            box = [float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
            objects.append((o.findtext("name").strip(), [box[0] - 1, box[1] - 1, box[2], box[3]]))
        samples.append({"id": i, "image": image, "objects": objects})
    return samples


def choose_classes(args, config, samples, log):
    found = sorted({name for s in samples for name, _ in s["objects"]})
    wanted = len(config["classes"])
    if args.classes:
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    elif set(found) == set(config["classes"]):
        classes = list(config["classes"])
    else:
        classes = found
        log(f"warning: dataset classes {found} are not the config's {config['classes']}; "
            f"label k is found[k - 1], and `ssd detect` will call it {config['name']}'s k-th class")
    if len(classes) != wanted:
        raise SystemExit(f"error: the weights predict {wanted} classes, the dataset names {len(classes)} "
                         f"({', '.join(classes)}); pass --classes or start from weights with {len(classes)}")
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise SystemExit(f"error: {args.data}: classes {unknown} are not in --classes")
    return classes


class VocDetection(Dataset):
    """Images resized and normalized as our detector does; normalized xyxy boxes; labels 1…C−1."""

    def __init__(self, samples, classes, config, flip, ssd_augment=False):
        self.samples = samples
        self.ssd_augment = ssd_augment
        self.index = {c: k + 1 for k, c in enumerate(classes)}
        self.h, self.w = config["imageSize"]
        pre = config["preprocess"]
        self.mean = np.float32(pre["mean"])
        self.std = np.float32(pre["std"])
        self.flip = flip

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        s = self.samples[i]
        bgr = cv2.imread(s["image"], cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError(f"{s['image']}: cannot decode")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes = np.array([b for _, b in s["objects"]], np.float32).reshape(-1, 4)
        labels = np.array([self.index[n] for n, _ in s["objects"]], np.int64)
        if self.ssd_augment:
            rgb, boxes, labels = ssd_preset(rgb, boxes, labels, self.mean)
        ih, iw = rgb.shape[:2]
        x = (cv2.resize(rgb, (self.w, self.h), interpolation=cv2.INTER_LINEAR).astype(np.float32) - self.mean) / self.std
        boxes = (boxes / np.float32([iw, ih, iw, ih])).clip(0, 1)
        if self.flip and random.random() < 0.5:
            x = x[:, ::-1]
            boxes = np.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], 1)
        image = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)  # HWC → CHW
        return image, torch.from_numpy(boxes), torch.from_numpy(labels)


# ------------------------------------------------------------- torchvision's `ssd` preset

def photometric_distort(rgb, p=0.5):
    """RandomPhotometricDistort: brightness, contrast (before or after), saturation, hue and a
    channel permutation, each with probability p, through torchvision's tensor functions."""
    import torchvision.transforms.functional as TF
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)  # uint8 CHW
    r = torch.rand(7)
    if r[0] < p:
        x = TF.adjust_brightness(x, float(torch.empty(1).uniform_(0.875, 1.125)))
    contrast_before = r[1] < 0.5
    if contrast_before and r[2] < p:
        x = TF.adjust_contrast(x, float(torch.empty(1).uniform_(0.5, 1.5)))
    if r[3] < p:
        x = TF.adjust_saturation(x, float(torch.empty(1).uniform_(0.5, 1.5)))
    if r[4] < p:
        x = TF.adjust_hue(x, float(torch.empty(1).uniform_(-0.05, 0.05)))
    if not contrast_before and r[5] < p:
        x = TF.adjust_contrast(x, float(torch.empty(1).uniform_(0.5, 1.5)))
    if r[6] < p:
        x = x[torch.randperm(3)]
    return x.permute(1, 2, 0).numpy()


def zoom_out(rgb, boxes, fill, side=(1.0, 4.0), p=0.5):
    """RandomZoomOut: the image at a random place on a canvas up to `side` times larger."""
    if torch.rand(1) >= p:
        return rgb, boxes
    h, w = rgb.shape[:2]
    r = side[0] + torch.rand(1).item() * (side[1] - side[0])
    cw, ch = int(w * r), int(h * r)
    r = torch.rand(2)
    left, top = int((cw - w) * r[0]), int((ch - h) * r[1])
    canvas = np.empty((ch, cw, 3), np.uint8)
    canvas[:] = np.round(fill).astype(np.uint8)
    canvas[top:top + h, left:left + w] = rgb
    return canvas, boxes + np.float32([left, top, left, top])


def iou_crop(rgb, boxes, labels, min_scale=0.3, max_scale=1.0, aspect=(0.5, 2.0),
             options=(0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0), trials=40):
    """RandomIoUCrop: a patch whose IoU with some kept box reaches a drawn minimum; boxes whose
    centres fall inside are kept and clipped (option 1.0 leaves the image whole)."""
    from torchvision.ops import box_iou
    h, w = rgb.shape[:2]
    tb = torch.from_numpy(boxes)
    while True:
        min_iou = options[int(torch.randint(len(options), (1,)))]
        if min_iou >= 1.0:
            return rgb, boxes, labels
        for _ in range(trials):
            r = min_scale + (max_scale - min_scale) * torch.rand(2)
            nw, nh = int(w * r[0]), int(h * r[1])
            if nh == 0 or not aspect[0] <= nw / nh <= aspect[1]:
                continue
            r = torch.rand(2)
            left, top = int((w - nw) * r[0]), int((h - nh) * r[1])
            right, bottom = left + nw, top + nh
            if left == right or top == bottom:
                continue
            cx, cy = 0.5 * (tb[:, 0] + tb[:, 2]), 0.5 * (tb[:, 1] + tb[:, 3])
            inside = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
            if not inside.any():
                continue
            kept = tb[inside]
            iou = box_iou(kept, torch.tensor([[left, top, right, bottom]], dtype=kept.dtype))
            if iou.max() < min_iou:
                continue
            kept = kept - torch.tensor([left, top, left, top], dtype=kept.dtype)
            kept[:, 0::2].clamp_(0, nw)
            kept[:, 1::2].clamp_(0, nh)
            return rgb[top:bottom, left:right], kept.numpy(), labels[inside.numpy()]


def ssd_preset(rgb, boxes, labels, mean):
    rgb = photometric_distort(rgb)
    rgb, boxes = zoom_out(rgb, boxes, mean)
    if len(boxes):
        rgb, boxes, labels = iou_crop(rgb, boxes, labels)
    if torch.rand(1) < 0.5:
        rgb = rgb[:, ::-1]
        w = rgb.shape[1]
        boxes = np.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], 1)
    return np.ascontiguousarray(rgb), boxes.astype(np.float32), labels



def collate(batch):
    images, boxes, labels = zip(*batch)
    return torch.stack(images), list(boxes), list(labels)


# -------------------------------------------------------------------------------- the loss

def make_loss(anchors_xyxy):
    from types import SimpleNamespace
    from torchvision.models.detection import _utils as det_utils
    from torchvision.models.detection import ssd as tv_ssd
    from torchvision.ops import boxes as box_ops

    matcher = det_utils.SSDMatcher(0.5)
    fake_ssd = SimpleNamespace(box_coder=det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)),
                               neg_to_pos_ratio=3.0)

    def loss(loc, logits, boxes, labels):
        anchors = anchors_xyxy.to(loc.device)
        matched = []
        for b in boxes:
            if b.numel() == 0:
                matched.append(torch.full((anchors.shape[0],), -1, dtype=torch.int64, device=loc.device))
            else:
                matched.append(matcher(box_ops.box_iou(b, anchors)))
        targets = [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)]
        parts = tv_ssd.SSD.compute_loss(fake_ssd, targets, {"bbox_regression": loc, "cls_logits": logits},
                                        [anchors] * len(boxes), matched)
        return parts["bbox_regression"], parts["classification"]

    return loss


# -------------------------------------------------------------------------------- training

def save_atomic(state_dict, path):
    tmp = f"{path}.{os.getpid()}.tmp"
    torch.save(state_dict, tmp)
    os.replace(tmp, path)


def main():
    args = parse_args()
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    cuda = torch.cuda.is_available()
    rank, world, local = 0, 1, 0
    if distributed:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", 0))
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if not cuda:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", 1))))

    def log(msg):
        if rank == 0:
            print(msg, file=sys.stderr, flush=True)

    spec = [make_spec(args) if rank == 0 else None]
    if distributed:
        dist.broadcast_object_list(spec, src=0)
    spec = spec[0]
    config, anchors_per_cell = spec["config"], spec["anchors"]
    num_classes = len(config["classes"]) + 1
    priors = torch.tensor(spec["priors"], dtype=torch.float32).reshape(-1, 4)  # [P, 4] cxcywh
    anchors_xyxy = torch.cat([priors[:, :2] - 0.5 * priors[:, 2:], priors[:, :2] + 0.5 * priors[:, 2:]], 1)

    torch.manual_seed(args.seed)
    random.seed(args.seed * 1000 + rank)
    inner, kind = build_inner(config, anchors_per_cell, num_classes)
    try:
        inner.load_state_dict(torch.load(args.init, map_location="cpu"), strict=True)
    except RuntimeError as err:
        raise SystemExit(f"error: {args.init}: does not fit {config['name']}: {err}")
    if args.new_heads:
        heads = [m for name, m in inner.named_modules()
                 if re.search(r"classification_head", name) and hasattr(m, "reset_parameters")]
        if not heads:
            raise SystemExit(f"error: --new-heads: no classification head found in {config['arch']}")
        for m in heads:
            m.reset_parameters()
        log(f"re-initialised {len(heads)} classification-head layers")
    model = Detector(inner, kind).to(device)
    if args.sync_bn and distributed and cuda:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        inner = model.inner  # the converted modules (same names)
    net = nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None) if distributed else model

    ids, source = voc_ids(args.data, args.set)
    samples = read_voc(args.data, ids)
    if not samples:
        raise SystemExit(f"error: {source}: no images")
    classes = choose_classes(args, config, samples, log)
    data = VocDetection(samples, classes, config, flip=args.augment == "flip",
                        ssd_augment=args.augment == "ssd")
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed) if distributed else None
    loader = DataLoader(data, batch_size=args.batch, shuffle=sampler is None, sampler=sampler,
                        num_workers=args.workers, collate_fn=collate, drop_last=len(data) >= args.batch * world)
    steps = args.steps or args.epochs * max(1, len(loader))
    loss_fn = make_loss(anchors_xyxy)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    def factor(s):  # lib/train/schedule.ts: warm-up from 0.001, then constant or cosine
        warm = 0.001 * (1 - s / args.warmup) + s / args.warmup if s < args.warmup else 1.0
        cos = 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, steps)))) if args.schedule == "cosine" else 1.0
        return warm * cos

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    log(f"training {config['name']} ({kind}) on {len(data)} images of {source}, {world} rank(s) × batch "
        f"{args.batch}, {steps} steps, {'nccl' if cuda else 'gloo' if distributed else 'single process'}, "
        f"classes {', '.join(classes)}")

    net.train()
    step, epoch, started = 0, 0, time.time()
    last = {}
    while step < steps:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for images, boxes, labels in loader:
            images = images.to(device, non_blocking=True)
            boxes = [b.to(device) for b in boxes]
            labels = [lab.to(device) for lab in labels]
            loc, logits = net(images)
            loc_loss, cls_loss = loss_fn(loc, logits, boxes, labels)
            loss = loc_loss + cls_loss
            if not math.isfinite(loss.item()):
                raise SystemExit(f"error: loss is {loss.item()} at step {step + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            last = {"step": step, "epoch": epoch, "loss": loss.item(), "locLoss": loc_loss.item(),
                    "clsLoss": cls_loss.item(), "lr": opt.param_groups[0]["lr"]}
            if step % args.log_every == 0 or step == steps:
                log(json.dumps({**last, "seconds": round(time.time() - started, 2)}))
            if step >= steps:
                break
        epoch += 1

    if rank == 0:
        save_atomic(inner.state_dict(), args.out)
        # the config beside it (lib/model/load.ts configSidecarPath): names and priors travel
        sidecar = re.sub(r"\.(pth|pt)$", "", args.out, flags=re.I) + ".ssd.json"
        with open(f"{sidecar}.{os.getpid()}.tmp", "w") as f:
            json.dump({**config, "classes": classes}, f, indent=2)
        os.replace(f"{sidecar}.{os.getpid()}.tmp", sidecar)
        print(json.dumps({"out": args.out, "model": config["name"], "steps": step, "world": world,
                          "classes": classes, "loss": last.get("loss"),
                          "seconds": round(time.time() - started, 2)}), flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
