/**
 * A small builder of ONNX graphs over the generated protobuf classes of `onnx-proto` (ONNX
 * 1.10's `onnx.proto` compiled by protobufjs): nodes with typed attributes, float32 and int64
 * initializers, unique value names. The bytes come from protobufjs' encoder, never by hand.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnnxGraphBuilder } from "./onnx_builder.ts";
 * const b = new OnnxGraphBuilder();
 * const w = b.initializer("w", [2], new Float32Array([1, 2]));
 * const y = b.node("Mul", ["x", w]);
 * assert.equal(b.nodes.length, 1);
 * assert.deepEqual(b.nodes[0].input, ["x", "w"]);
 * assert.equal(b.nodes[0].output?.[0], y);
 * ```
 *
 * @module
 */
import onnxProto from "onnx-proto";

/** The generated ONNX namespace (`onnx.ModelProto`, `onnx.TensorProto`, …). */
export const onnx: typeof onnxProto.onnx = onnxProto.onnx;

/** An attribute value: a number (INT when an integer, else FLOAT), a list of ints, a string. */
export type AttrValue = number | { float: number } | number[] | { floats: number[] } | string;

const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

/** Little-endian bytes of a typed array (the machines we run on are little-endian). */
function rawBytes(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === "string") {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (typeof value === "number") {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ("float" in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

/** The opset the graphs are written for (ONNX 1.12; onnxruntime ≥ 1.12, OpenCV ≥ 4.6 read it). */
export const ONNX_OPSET = 17;
/** IR version 8 goes with opset 17. */
const IR_VERSION = 8;

/** What {@link OnnxGraphBuilder.encode} writes besides the nodes and initializers. */
export interface OnnxModelSpec {
  /** Graph name. */
  name: string;
  /** Graph inputs. */
  inputs: onnxProto.onnx.IValueInfoProto[];
  /** Graph outputs. */
  outputs: onnxProto.onnx.IValueInfoProto[];
  /** Model description. */
  docString?: string;
  /** `metadata_props` key → value. */
  metadata?: Record<string, string>;
}

/** Collects the nodes and initializers of one ONNX graph, in topological order. */
export class OnnxGraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly #names = new Set<string>();
  /** Operator domains other than ONNX's own that the nodes use (opset version 1 each). */
  readonly #domains = new Set<string>();
  #count = 0;

  /** A value name not used yet, from `hint`. */
  fresh(hint: string): string {
    const name = this.#unused(hint);
    this.#names.add(name);
    return name;
  }

  /** Whether a value (initializer or node output) of that name exists. */
  has(name: string): boolean {
    return this.#names.has(name);
  }

  /**
   * A float32 initializer of shape `dims`; returns its name (`name` itself: initializers keep
   * the PyTorch state-dict names).
   *
   * @throws {TypeError} when the name is taken or the data does not fill the shape.
   */
  initializer(name: string, dims: number[], data: Float32Array): string {
    return this.#tensor(name, dims, DataType.FLOAT, data);
  }

  /** An int64 constant (shapes, axes, counts) named after `hint`; returns its name. */
  int64(hint: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values, BigInt);
    return this.#tensor(this.#unused(hint), dims, DataType.INT64, data);
  }

  /** An int32 constant named after `hint`; returns its name. */
  int32(hint: string, dims: number[], values: number[]): string {
    return this.#tensor(this.#unused(hint), dims, DataType.INT32, Int32Array.from(values));
  }

  /** A float32 constant of one value, shape `dims` (default `[1]`), named after `hint`. */
  scalar(hint: string, value: number, dims: number[] = [1]): string {
    return this.#tensor(this.#unused(hint), dims, DataType.FLOAT, new Float32Array([value]));
  }

  #unused(hint: string): string {
    let name = hint;
    while (this.#names.has(name)) name = `${hint}_${++this.#count}`;
    return name;
  }

  #tensor(
    name: string,
    dims: number[],
    dataType: number,
    data: Float32Array | BigInt64Array | Int32Array,
  ): string {
    if (this.#names.has(name)) {
      throw new TypeError(`Cannot add initializer "${name}": the name is already used`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new TypeError(
        `Cannot add initializer "${name}": shape [${dims}] needs ${count} values, got ${data.length}`,
      );
    }
    this.#names.add(name);
    this.initializers.push({ name, dims, dataType, rawData: rawBytes(data) });
    return name;
  }

  /** The serialized model (opset {@link ONNX_OPSET}) of this graph. */
  encode(spec: OnnxModelSpec): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: "", version: ONNX_OPSET },
        ...[...this.#domains].map((domain) => ({ domain, version: 1 })),
      ],
      producerName: "ssd",
      producerVersion: "0.1.0",
      docString: spec.docString,
      graph: {
        name: spec.name,
        node: this.nodes,
        initializer: this.initializers,
        input: spec.inputs,
        output: spec.outputs,
      },
      metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Appends a node with several outputs (named after `outputs`); returns all their names. */
  nodeOutputs(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue>,
    outputs: string[],
  ): string[] {
    this.node(opType, inputs, attrs, { outputs });
    return this.nodes[this.nodes.length - 1].output as string[];
  }

  /**
   * Appends a node; returns its first output's name. `outputs` names the outputs (default: one,
   * named after the op); graph outputs are given their final names this way. `domain` is the
   * operator set of an op that is not ONNX's own (onnxruntime's `com.microsoft.nchwc`).
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: { outputs?: string[]; name?: string; domain?: string } = {},
  ): string {
    const outputs = opts.outputs?.map((o) => this.fresh(o)) ??
      [this.fresh(`${opts.name ?? opType.toLowerCase()}_out`)];
    if (opts.domain) this.#domains.add(opts.domain);
    this.nodes.push({
      opType,
      ...(opts.domain ? { domain: opts.domain } : {}),
      name: this.fresh(`${opts.name ?? opType}_node`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs[0];
  }
}

/** A tensor value type of element type `elemType`, with named (symbolic) or fixed dims. */
function valueInfo(
  elemType: number,
  name: string,
  dims: (number | string)[],
  docString?: string,
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    docString,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/** A float32 tensor value type with named (symbolic) or fixed dims. */
export const floatValueInfo = (
  name: string,
  dims: (number | string)[],
  docString?: string,
): onnxProto.onnx.IValueInfoProto => valueInfo(DataType.FLOAT, name, dims, docString);

/** An int32 tensor value type. */
export const int32ValueInfo = (
  name: string,
  dims: (number | string)[],
  docString?: string,
): onnxProto.onnx.IValueInfoProto => valueInfo(DataType.INT32, name, dims, docString);

/** An int64 tensor value type. */
export const int64ValueInfo = (
  name: string,
  dims: (number | string)[],
  docString?: string,
): onnxProto.onnx.IValueInfoProto => valueInfo(DataType.INT64, name, dims, docString);
