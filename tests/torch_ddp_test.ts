import assert from "node:assert/strict";
import { getConfig } from "../lib/config.ts";
import { writeSynthDataset } from "../lib/data/synth.ts";
import { writeTorchPth } from "../lib/export/torch_pth.ts";
import { readTorchStateDict } from "../lib/io/torch.ts";
import { loadModel } from "../lib/model/load.ts";
import { buildModel } from "../lib/model/ssd.ts";
import { ssd } from "./cli.ts";
import { useBackend } from "./model_helpers.ts";

// scripts/torch_train_ddp.py under torchrun with 2 CPU ranks (gloo): tiny exported by our .pth
// writer, a synthetic VOC set, 4 steps; the result must load back into our model and detect.
const PYTHON = "/usr/bin/python3";

async function ddpMissing(): Promise<string | undefined> {
  try {
    const r = await new Deno.Command(PYTHON, {
      args: [
        "-c",
        "import torch, torchvision, cv2, torch.distributed as d; assert d.is_gloo_available(), 'no gloo'",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (r.success) return undefined;
    const why = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1);
    return `${PYTHON} lacks torch/torchvision/cv2/gloo (${why})`;
  } catch (err) {
    return `${PYTHON} cannot run (${(err as Error).message})`;
  }
}
const MISSING = await ddpMissing();
if (MISSING) {
  console.warn(
    `skipping the torchrun test of scripts/torch_train_ddp.py: ${MISSING}; ` +
      "install python3-torch python3-torchvision python3-opencv",
  );
}

/** `torchrun` when on PATH, else the module it runs. */
async function torchrunCommand(): Promise<string[]> {
  const which = await new Deno.Command("sh", {
    args: ["-c", "command -v torchrun"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const path = new TextDecoder().decode(which.stdout).trim();
  return which.success && path !== "" ? [path] : [PYTHON, "-m", "torch.distributed.run"];
}

Deno.test({
  name: "torch_train_ddp.py trains tiny on 2 ranks from our .pth; ssd detect loads the result",
  ignore: MISSING !== undefined,
}, async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    const init = buildModel(getConfig("tiny"), { seed: 1 });
    const initSd = init.stateDict();
    init.dispose();
    await writeTorchPth(initSd, `${dir}/tiny.pth`);
    await writeSynthDataset({ out: `${dir}/synth`, n: 16, seed: 3, format: "voc", size: 160 });

    const [cmd, ...pre] = await torchrunCommand();
    const r = await new Deno.Command(cmd, {
      args: [
        ...pre,
        "--nproc_per_node=2",
        // Debian's torch 1.13 on Python 3.11 cannot parse the default "0" redirect (IntFlag
        // iteration changed in 3.11); 1 (stdout to a log file, tee'd) parses everywhere.
        "--redirects=1",
        "--tee=1",
        `--log_dir=${dir}/logs`,
        "scripts/torch_train_ddp.py",
        "--init",
        `${dir}/tiny.pth`,
        "--data",
        `${dir}/synth`,
        "--out",
        `${dir}/result.pth`,
        "--steps",
        "4",
        "--batch",
        "4",
        "--lr",
        "0.01",
        "--log-every",
        "1",
      ],
      env: { OMP_NUM_THREADS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    const stderr = new TextDecoder().decode(r.stderr);
    assert.ok(r.success, `torchrun failed (${r.code}):\n${stdout}\n${stderr.slice(-3000)}`);
    // rank 0's summary line (torchrun's tee prefixes it with "[default0]:")
    const summary = JSON.parse(
      stdout.split("\n").find((l) => l.includes('{"out"'))!.replace(/^[^{]*/, ""),
    );
    assert.equal(summary.steps, 4);
    assert.equal(summary.world, 2);
    assert.deepEqual(summary.classes, getConfig("tiny").classes);
    const losses = stderr.split("\n").filter((l) => l.startsWith('{"step"')).map((l) =>
      JSON.parse(l).loss
    );
    assert.equal(losses.length, 4, stderr);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);

    const trained = await readTorchStateDict(`${dir}/result.pth`);
    assert.deepEqual([...trained.keys()].sort(), [...initSd.keys()].sort(), "the same names");
    for (const [name, t] of initSd) assert.deepEqual(trained.get(name)!.shape, t.shape, name);
    const w = "head.classification_head.module_list.0.weight";
    const moved = (trained.get(w)!.data as Float32Array).some((v, i) =>
      v !== initSd.get(w)!.data[i]
    );
    assert.ok(moved, `${w} changed`);
    // BatchNorm ran 4 training steps on rank 0
    assert.equal(trained.get("backbone.layers.0.bn.num_batches_tracked")!.data[0], 4n);

    const model = await loadModel(`${dir}/result.pth`);
    assert.equal(model.config.name, "tiny");
    // its config sidecar names the dataset's classes
    const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/result.ssd.json`));
    assert.deepEqual(model.config.classes, sidecar.classes);
    assert.deepEqual([...sidecar.classes].sort(), ["circle", "cross", "square", "triangle"]);
    model.dispose();
    const det = await ssd(
      "detect",
      `${dir}/synth/JPEGImages/000001.jpg`,
      "--model",
      `${dir}/result.pth`,
      "--json",
      "--out",
      `${dir}/detect`,
      "--score",
      "0.05",
    );
    assert.equal(det.code, 0, det.stderr);
    const results = JSON.parse(det.stdout);
    assert.equal(results.length, 1);
    assert.ok(Array.isArray(results[0].detections));
    assert.equal(results[0].width, 160);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
