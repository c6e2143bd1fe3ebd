/**
 * A TensorFlow `GraphDef` in the JSON form TF.js graph models carry (`model.json`
 * `modelTopology`), built node by node, with its constants collected for the weights manifest.
 *
 * JSON encoding, as `tensorflowjs_converter` writes it and `@tensorflow/tfjs-converter` reads it:
 * int64 values as decimal strings, string attributes base64, dtypes as `DT_*` names; a `Const`
 * node's value lives in the weights file under the node's name, not in the graph.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphDefBuilder } from "./tfjs_graphdef.ts";
 * const g = new GraphDefBuilder();
 * const x = g.placeholder("x", [-1, 2]);
 * const two = g.constF32("two", [], Float32Array.of(2));
 * g.node("y", "Mul", [x, two], { T: GraphDefBuilder.float() });
 * assert.deepEqual(g.nodes.map((n) => n.op), ["Placeholder", "Const", "Mul"]);
 * assert.deepEqual(g.weights.map((w) => w.spec), [{ name: "two", shape: [], dtype: "float32" }]);
 * ```
 *
 * @module
 */

/** One attribute value of a node (the `AttrValue` proto in JSON). */
export type AttrValue =
  | { type: string }
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { list: { i?: string[]; s?: string[] } }
  | { shape: { dim: { size: string }[] } }
  | { tensor: { dtype: string; tensorShape: { dim?: { size: string }[] } } };

/** One `NodeDef`. */
export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

/** A weights-manifest entry and its little-endian bytes. */
export interface WeightEntry {
  spec: { name: string; shape: number[]; dtype: "float32" | "int32" };
  data: Uint8Array;
}

const VALID_NAME = /^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$/;

function shapeDims(shape: number[]): { size: string }[] {
  return shape.map((d) => ({ size: String(d) }));
}

/** Collects nodes and constants; names are checked for uniqueness and TF's name rule. */
export class GraphDefBuilder {
  readonly nodes: NodeDef[] = [];
  readonly weights: WeightEntry[] = [];
  readonly #names = new Set<string>();

  /** `{ type: "DT_FLOAT" }`. */
  static float(): AttrValue {
    return { type: "DT_FLOAT" };
  }

  /** `{ type: "DT_INT32" }`. */
  static int32(): AttrValue {
    return { type: "DT_INT32" };
  }

  /** A base64 string attribute (`padding`, `data_format`). */
  static str(s: string): AttrValue {
    return { s: btoa(s) };
  }

  /** A list of ints (`strides`, `ksize`, `dilations`, `explicit_paddings`). */
  static ints(values: number[]): AttrValue {
    return { list: { i: values.map(String) } };
  }

  /** A name not used yet: `base`, else `base_1`, `base_2`, … */
  unique(base: string): string {
    let name = base;
    for (let k = 1; this.#names.has(name); k++) name = `${base}_${k}`;
    return name;
  }

  #claim(name: string): void {
    if (!VALID_NAME.test(name)) {
      throw new RangeError(`Cannot add graph node "${name}": not a valid TensorFlow node name`);
    }
    if (this.#names.has(name)) {
      throw new RangeError(`Cannot add graph node "${name}": the name is taken`);
    }
    this.#names.add(name);
  }

  /** Adds a node and returns its name (the tensor `name:0`, written `name`). */
  node(name: string, op: string, inputs: string[], attr: Record<string, AttrValue> = {}): string {
    this.#claim(name);
    this.nodes.push({ name, op, input: inputs, attr });
    return name;
  }

  /** A float32 `Placeholder` of `shape` (−1 for an unknown dimension). */
  placeholder(name: string, shape: number[]): string {
    this.#claim(name);
    this.nodes.push({
      name,
      op: "Placeholder",
      attr: { dtype: GraphDefBuilder.float(), shape: { shape: { dim: shapeDims(shape) } } },
    });
    return name;
  }

  #constant(name: string, shape: number[], dtype: "float32" | "int32", data: Uint8Array): string {
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count * 4) {
      throw new RangeError(
        `Cannot add constant "${name}": shape [${shape}] needs ${
          count * 4
        } bytes, got ${data.length}`,
      );
    }
    this.#claim(name);
    const dt = dtype === "float32" ? "DT_FLOAT" : "DT_INT32";
    this.nodes.push({
      name,
      op: "Const",
      attr: {
        value: { tensor: { dtype: dt, tensorShape: { dim: shapeDims(shape) } } },
        dtype: { type: dt },
      },
    });
    this.weights.push({ spec: { name, shape: [...shape], dtype }, data });
    return name;
  }

  /** A float32 constant (copied). */
  constF32(name: string, shape: number[], values: Float32Array): string {
    return this.#constant(name, shape, "float32", new Uint8Array(values.slice().buffer));
  }

  /** An int32 constant (axes, shapes, paddings). */
  constI32(name: string, shape: number[], values: number[]): string {
    return this.#constant(name, shape, "int32", new Uint8Array(Int32Array.from(values).buffer));
  }
}
