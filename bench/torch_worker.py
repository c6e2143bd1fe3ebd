"""PyTorch's side of `deno task bench`: one long-lived process answering the line protocol of
`bench/protocol.ts` on stdin/stdout (one JSON request per line; one `@bench {json}` answer).

    /usr/bin/python3 bench/torch_worker.py

The hello says the torch version, or why torch is missing. A setup names a task and its
`threads` (torch.set_num_threads) and `device` (cpu, or cuda where there is one). The driver
starts it with glibc's malloc keeping freed memory (`MALLOC_MMAP_THRESHOLD_`, see `pair.ts`).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
PREFIX = "@bench "


def reply(answer):
    sys.stdout.write(PREFIX + json.dumps(answer) + "\n")
    sys.stdout.flush()


def rss_mib():
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)


def setup(spec):
    """The run() of a task spec; each kind imports its module only when asked for."""
    task = spec["task"]
    if task == "forward":
        from torch_forward import setup_forward as make
    elif task == "train_step":
        from torch_train_step import setup_train_step as make
    elif task == "conv":
        from torch_conv import setup_conv as make
    elif task == "nms":
        from torch_nms import setup_nms as make
    elif task in ("match", "loss_grads"):
        from torch_match_loss import setup_match_loss as make
    elif task == "coco_eval":
        from torch_coco import setup_coco_eval as make
    else:
        raise ValueError(f"no PyTorch counterpart for {task}")
    return make(spec, spec.get("device", "cpu"))


def measure(run, sync):
    cpu0, t0 = time.process_time(), time.perf_counter()
    figures = run() or {}
    sync()
    ms = (time.perf_counter() - t0) * 1000
    cpu = (time.process_time() - cpu0) * 1000
    return {"ms": ms, "cpuPerWall": cpu / ms, "rssMiB": rss_mib(), **figures}


def main():
    try:
        import torch
        import torchvision
        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        reply({"torch": torch.__version__, "torchvision": torchvision.__version__, "cuda": cuda})
    except ImportError as err:
        reply({"error": f"torch missing: {err}"})
        return
    run, sync = None, lambda: None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "setup":
                run = None
                torch.set_num_threads(request.get("threads", 1))
                cuda_sync = request.get("device") == "cuda"
                sync = torch.cuda.synchronize if cuda_sync else (lambda: None)
                run = setup(request)
                reply(measure(run, sync))  # the warm-up
            elif request["op"] == "measure":
                reply(measure(run, sync))
            elif request["op"] == "end":
                run = None
                reply({})
            else:
                raise ValueError(f"unknown op {request['op']!r}")
        except Exception as err:  # one line back to the driver; the worker goes on
            message = str(err).splitlines()[0] if str(err) else ""
            reply({"error": message if isinstance(err, ImportError) else f"{type(err).__name__}: {message}"})


if __name__ == "__main__":
    main()
