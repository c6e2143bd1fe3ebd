import assert from "node:assert/strict";
import { writeSynthDataset } from "../lib/data/synth.ts";
import { readCheckpoint } from "../lib/train/checkpoint.ts";
import { loadModel } from "../lib/model/load.ts";
import { denoRunArgs, oneLineError, ssd } from "./cli.ts";
import { useBackend } from "./model_helpers.ts";

const ROOT = await Deno.makeTempDir({ prefix: "ssd_train_cli_" });
const SYNTH = `${ROOT}/synth`;
await writeSynthDataset({ out: SYNTH, n: 10, seed: 9, size: 160 });
const RUNS = `${ROOT}/runs`;
const base = ["train", "--model", "tiny", "--data", SYNTH, "--batch", "4", "--project", RUNS];

Deno.test("ssd train writes a runs folder, never over an earlier run, and its weights detect", async () => {
  const r = await ssd(...base, "--iterations", "2", "--backend", "wasm", "--json");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.type), ["step", "step", "epoch", "summary"]);
  assert.ok(lines.slice(0, 2).every((l) => l.loss > 0 && l.locLoss >= 0 && l.lr > 0));
  const dir = `${RUNS}/train/exp`;
  assert.equal(lines[3].run, dir);
  // The summary carries the last validation's report, as `ssd eval --json` gives it.
  assert.equal(lines[3].validationEpoch, 1);
  assert.equal(lines[3].validation.voc07.mAP, lines[3].bestMapVoc07);
  assert.deepEqual(Object.keys(lines[3].validation.voc07.perClass).sort(), [
    "circle",
    "cross",
    "square",
    "triangle",
  ]);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  for (
    const f of [
      "args.json",
      "best.safetensors",
      "curves.png",
      "last.safetensors",
      "metrics.csv",
      "train_batch0.png",
      "val",
    ]
  ) assert.ok(files.includes(f), `${f} missing from ${files}`);
  const csv = (await Deno.readTextFile(`${dir}/metrics.csv`)).trim().split("\n");
  assert.equal(csv[0], "epoch,step,loss,locLoss,clsLoss,lr,seconds,mapVoc07,mapVoc,apCoco");
  assert.equal(csv.length, 2);
  const ckpt = await readCheckpoint(`${dir}/last.safetensors`);
  assert.equal(ckpt.state.step, 2);
  assert.deepEqual(ckpt.config.classes, ["circle", "cross", "square", "triangle"]);

  const again = await ssd(...base, "--iterations", "1", "--backend", "wasm", "-q");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`run ${RUNS}/train/exp2\\)`));
  // Text mode prints the last validation's per-class table before the summary.
  assert.match(again.stdout, /^epoch 1, validation .* \(val\):\nclass +images +instances/m);
  assert.equal((await readCheckpoint(`${dir}/last.safetensors`)).state.step, 2, "exp untouched");

  const det = await ssd(
    "detect",
    `${SYNTH}/JPEGImages/${[...Deno.readDirSync(`${SYNTH}/JPEGImages`)][0].name}`,
    "--model",
    `${dir}/best.safetensors`,
    "--json",
    "--score",
    "0.01",
    "--no-save",
  );
  assert.equal(det.code, 0, det.stderr);
  const found = JSON.parse(det.stdout)[0].detections;
  assert.ok(found.length > 0);
  assert.ok(["circle", "cross", "square", "triangle"].includes(found[0].class));
});

Deno.test("ssd train usage errors exit 2 with one line", async () => {
  oneLineError((await ssd("train", "--data", SYNTH)).stderr, /^error: --model is required/);
  const noData = await ssd("train", "--model", "tiny");
  assert.equal(noData.code, 2);
  const both = await ssd(...base, "--val", SYNTH, "--val-split", "0.2");
  assert.equal(both.code, 2);
  oneLineError(both.stderr, /--val and --val-split do not go together/);
  const length = await ssd(...base, "--epochs", "2", "--iterations", "5");
  assert.equal(length.code, 2);
  oneLineError(length.stderr, /--epochs and --iterations do not go together/);
  const engine = await ssd(
    "train",
    "--model",
    "ssdlite320",
    "--data",
    SYNTH,
    "--engine",
    "onnx",
    "--batch",
    "4",
    "--project",
    RUNS,
  );
  assert.equal(engine.code, 2);
  oneLineError(engine.stderr, /--engine onnx cannot train ssdlite320: its graph has a \w+ node/);
  const keep = await ssd(...base, "--keep-heads");
  assert.equal(keep.code, 2);
  oneLineError(keep.stderr, /--keep-heads needs weights to start from/);
  const bad = await ssd(...base, "--lr", "-1");
  assert.equal(bad.code, 2);
  const runsBefore = [...Deno.readDirSync(`${RUNS}/train`)].length;
  const big = await ssd(...base, "--batch", "1000");
  assert.equal(big.code, 2);
  oneLineError(
    big.stderr,
    /^error: --batch 1000 is more than the \d+ training images of .*; give --batch \d+ or less$/m,
  );
  assert.equal([...Deno.readDirSync(`${RUNS}/train`)].length, runsBefore, "no run folder made");
  const unknown = await ssd("train", "--model", "yolo9000", "--data", SYNTH, "--project", RUNS);
  assert.equal(unknown.code, 2);
  oneLineError(unknown.stderr, /^error: unknown model "yolo9000"/);
});

Deno.test("ssd train --resume refuses a changed setting and a folder that is not a run", async () => {
  const notRun = await ssd("train", "--resume", ROOT);
  assert.equal(notRun.code, 1);
  oneLineError(notRun.stderr, new RegExp(`^error: ${ROOT}/args.json: not a training run`));
  await Deno.mkdir(`${RUNS}/train/fake`, { recursive: true });
  await Deno.writeTextFile(`${RUNS}/train/fake/args.json`, "{}");
  const changed = await ssd("train", "--resume", `${RUNS}/train/fake`, "--lr", "0.5");
  assert.equal(changed.code, 2);
  oneLineError(changed.stderr, /only --epochs, --iterations.*\(got --lr\)/);
});

Deno.test("a checkpoint killed with SIGKILL mid-write is still whole and loadable", async () => {
  await useBackend("cpu");
  const dir = `${ROOT}/kill`;
  await Deno.mkdir(dir);
  const path = `${dir}/ckpt.safetensors`;
  const script = new URL("./checkpoint_writer.ts", import.meta.url).pathname;
  for (let round = 0; round < 3; round++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...denoRunArgs(), script, path],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // "wrote": one whole checkpoint exists; the writer keeps rewriting it
    const full = Deno.statSync(path).size;
    // kill the moment a write is under way: a temporary file beside it, or the file itself
    // changing size (a writer that truncates in place)
    const deadline = Date.now() + 10_000;
    let caught = false;
    while (!caught && Date.now() < deadline) {
      caught = [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".tmp")) ||
        (Deno.statSync(path).size !== full);
    }
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assert.ok(caught, "never saw a write in progress");
    const ckpt = await readCheckpoint(path);
    assert.ok(ckpt.optimizer.size > 0);
    const model = await loadModel(path);
    assert.equal(model.config.name, "tiny");
    model.dispose();
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.endsWith(".tmp")) Deno.removeSync(`${dir}/${e.name}`);
    }
  }
});
