"""pycocotools' side of the COCO evaluation row of `deno task bench` (`eval_task.ts` is ours):
index the ground truth, load the results, evaluate, accumulate and summarize (the printout
discarded) on the files `inputs.ts` wrote. JSON parsing is outside the timing, as ours.
"""
import contextlib
import io
import json


def setup_coco_eval(spec, device):
    """`{gt, results}` → a run() answering AP; ImportError when pycocotools is missing."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as err:
        raise ImportError(f"pycocotools missing ({err}); pip install pycocotools") from err
    gt_json = json.load(open(spec["gt"]))
    results = json.load(open(spec["results"]))

    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO()
            gt.dataset = gt_json
            gt.createIndex()
            e = COCOeval(gt, gt.loadRes(results), "bbox")
            e.evaluate()
            e.accumulate()
            e.summarize()
        return {"AP": float(e.stats[0])}
    return run
