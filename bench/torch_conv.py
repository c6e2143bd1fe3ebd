"""PyTorch side of the conv-kernel rows of `deno task bench` (`conv_task.ts` is ours): one 3×3
conv (padding 1) forward, or forward and backward (dx and dW) from a fixed upstream gradient."""
import torch


def setup_conv(spec, device):
    b, s, c, o, stride = (spec[k] for k in ("batch", "size", "inC", "outC", "stride"))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(b, c, s, s, generator=gen).to(device)
    w = (0.1 * torch.randn(o, c, 3, 3, generator=gen)).to(device)
    os_ = -(-s // stride)
    dy = torch.randn(b, o, os_, os_, generator=gen).to(device)
    backward = bool(spec.get("backward"))
    x.requires_grad_(backward)
    w.requires_grad_(backward)

    def run():
        if not backward:
            with torch.no_grad():
                torch.nn.functional.conv2d(x, w, stride=stride, padding=1)
            return
        x.grad = w.grad = None
        torch.nn.functional.conv2d(x, w, stride=stride, padding=1).backward(dy)

    return run
