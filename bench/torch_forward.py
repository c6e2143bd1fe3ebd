"""PyTorch side of the forward rows of `deno task bench` (run by `torch_worker.py`).
Models: torchvision ssd300_vgg16 and ssdlite320_mobilenet_v3_large (random weights; backbone +
head, i.e. what our `predict` computes), and UltraFace slim-320 / RFB-320 rebuilt from
../shared/data/ultraface/ARCHITECTURE.md with the real .pth weights loaded (strict), so the
shipped default model is timed against its own PyTorch original.
"""
import os

import torch
from torch import nn
from torchvision.models.detection import ssd300_vgg16, ssdlite320_mobilenet_v3_large

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def conv_bn(inp, oup, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU(True))


def conv_dw(inp, oup, stride):
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp), nn.ReLU(True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup), nn.ReLU(True))


class BasicConv(nn.Module):
    def __init__(self, inp, out, k, stride=1, padding=0, dilation=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(inp, out, k, stride, padding, dilation, bias=False)
        self.bn = nn.BatchNorm2d(out, eps=1e-5)
        self.relu = nn.ReLU(True) if relu else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.relu(x) if self.relu else x


class BasicRFB(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(BasicConv(64, 8, 1, relu=False), BasicConv(8, 16, 3, padding=1),
                                     BasicConv(16, 16, 3, padding=2, dilation=2, relu=False))
        self.branch1 = nn.Sequential(BasicConv(64, 8, 1, relu=False), BasicConv(8, 16, 3, padding=1),
                                     BasicConv(16, 16, 3, padding=3, dilation=3, relu=False))
        self.branch2 = nn.Sequential(BasicConv(64, 8, 1, relu=False), BasicConv(8, 12, 3, padding=1),
                                     BasicConv(12, 16, 3, padding=1),
                                     BasicConv(16, 16, 3, padding=5, dilation=5, relu=False))
        self.ConvLinear = BasicConv(48, 64, 1, relu=False)
        self.shortcut = BasicConv(64, 64, 1, relu=False)
        self.relu = nn.ReLU(False)

    def forward(self, x):
        out = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)
        return self.relu(self.ConvLinear(out) + self.shortcut(x))


def sep(inp, out, k=3, s=1, p=1):
    return nn.Sequential(nn.Conv2d(inp, inp, k, s, p, groups=inp), nn.ReLU(), nn.Conv2d(inp, out, 1))


class UltraFace(nn.Module):
    def __init__(self, rfb):
        super().__init__()
        self.base_net = nn.Sequential(
            conv_bn(3, 16, 2), conv_dw(16, 32, 1), conv_dw(32, 32, 2), conv_dw(32, 32, 1),
            conv_dw(32, 64, 2), conv_dw(64, 64, 1), conv_dw(64, 64, 1),
            BasicRFB() if rfb else conv_dw(64, 64, 1),
            conv_dw(64, 128, 2), conv_dw(128, 128, 1), conv_dw(128, 128, 1),
            conv_dw(128, 256, 2), conv_dw(256, 256, 1))
        self.extras = nn.ModuleList([nn.Sequential(nn.Conv2d(256, 64, 1), nn.ReLU(), sep(64, 256, 3, 2, 1), nn.ReLU())])
        self.classification_headers = nn.ModuleList([sep(64, 6), sep(128, 4), sep(256, 4), nn.Conv2d(256, 6, 3, padding=1)])
        self.regression_headers = nn.ModuleList([sep(64, 12), sep(128, 8), sep(256, 8), nn.Conv2d(256, 12, 3, padding=1)])

    def forward(self, x):
        confs, locs = [], []
        ends = [8, 11, 13]
        start = 0
        for i, end in enumerate(ends):
            for layer in self.base_net[start:end]:
                x = layer(x)
            start = end
            confs.append(self.classification_headers[i](x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 2))
            locs.append(self.regression_headers[i](x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4))
        x = self.extras[0](x)
        confs.append(self.classification_headers[3](x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 2))
        locs.append(self.regression_headers[3](x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4))
        return torch.cat(confs, 1), torch.cat(locs, 1)


def setup_forward(spec, device):
    """`{model, batch}` → one no-grad forward pass of torchvision's network (backbone + head,
    what our `predict` computes; random weights) or UltraFace's (its .pth when present)."""
    name, b = spec["model"], spec["batch"]
    torch.manual_seed(0)
    builders = {"ssd300-coco": (ssd300_vgg16, 300), "ssdlite320": (ssdlite320_mobilenet_v3_large, 320)}
    if name in builders:
        builder, size = builders[name]
        model = builder(weights=None, weights_backbone=None).eval().to(device)
        x = torch.rand(b, 3, size, size, device=device)
        forward = lambda: model.head(list(model.backbone(x).values()))
    elif name in ("face-slim-320", "face-rfb-320"):
        model = UltraFace(rfb=name == "face-rfb-320").eval()
        path = os.path.join(SHARED, "ultraface", f"version-{'RFB' if 'rfb' in name else 'slim'}-320.pth")
        if os.path.exists(path):
            model.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
        model.to(device)
        x = torch.rand(b, 3, 240, 320, device=device)
        forward = lambda: model(x)
    else:
        raise ValueError(f"unknown model {name}")

    def run():
        with torch.no_grad():
            forward()
    return run
