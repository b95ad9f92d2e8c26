/**
 * The contract between a layer and the ONNX exporter. Each layer class that
 * can be exported declares, in its registration, a lowering that appends
 * ONNX nodes for one call of the layer; the exporter (`onnx/export.ts`)
 * owns the protobuf schema, the graph inputs and outputs, and the file.
 * Only names and plain numbers cross this boundary, so layers need not
 * know the schema.
 */
import { EddyError } from '../errors';
import type { Module } from './module';
import { registeredLayers, registrationOf } from './registry';

/** An ONNX node attribute, as AttributeProto holds it. */
export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  strings?: Uint8Array[];
  ints?: number[];
}

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7, STRINGS: 8 } as const;

export const onnxAttribute = {
  float: (name: string, value: number): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.FLOAT, f: value }),
  int: (name: string, value: number): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INT, i: value }),
  ints: (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: values }),
  string: (name: string, value: string): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.STRING, s: Buffer.from(value) }),
  strings: (name: string, values: string[]): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.STRINGS, strings: values.map((v) => Buffer.from(v)) }),
};

/** The graph a lowering appends to. */
export interface OnnxGraph {
  /** A fresh value name starting with `prefix`. */
  name(prefix: string): string;
  /** Appends a node with explicit outputs. */
  node(opType: string, inputs: string[], outputs: string[], attributes?: OnnxAttribute[]): void;
  /** Appends a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attributes?: OnnxAttribute[]): string;
  /** A float32 initializer; returns its name. */
  floats(prefix: string, dims: number[], data: Float32Array): string;
  /** An int64 vector initializer; returns its name. */
  int64s(prefix: string, values: number[]): string;
  /** A 0-d initializer (int64 or float32); returns its name. */
  scalar(prefix: string, value: number, type: 'int64' | 'float'): string;
}

/**
 * A value flowing between layers: its name and its layout. Recurrent
 * operators work time-major in ONNX, so a run of recurrent layers stays
 * time-major and transposes back only when a batch-major layer follows.
 */
export interface OnnxValue {
  name: string;
  timeMajor: boolean;
  /** Named parts of a layer's result besides the main output (an attention's `weights`), for graphs that use them. */
  parts?: Record<string, OnnxValue>;
}

export interface OnnxLoweringContext {
  graph: OnnxGraph;
  /** The int32 [batch] lengths this call masks with (recurrent operators' sequence_lens), or '' when it has none. */
  lengths: string;
  /** Every input of the call, `x` first (merge and attention layers take several). @default [x] */
  inputs?: OnnxValue[];
  /** The opset being written (ops such as ReduceMax take their axes as an input from 18 on). @default 17 */
  opset?: number;
  /**
   * The int32 [batch] lengths each input carries ('' where one has none),
   * in the order of `inputs`: a transformer decoder masks its memory with
   * the second's. @default [lengths]
   */
  inputLengths?: string[];
}

/** Appends the nodes of one call of `layer` on `x` and returns its output. */
export type OnnxLowering<M> = (layer: M, x: OnnxValue, ctx: OnnxLoweringContext) => OnnxValue;

/** `x` in batch-major layout. */
export function batchMajor(x: OnnxValue, graph: OnnxGraph): OnnxValue {
  return x.timeMajor ? { name: graph.op('Transpose', [x.name], [onnxAttribute.ints('perm', [1, 0, 2])]), timeMajor: false } : x;
}

/** `x` in time-major layout. */
export function timeMajor(x: OnnxValue, graph: OnnxGraph): OnnxValue {
  return x.timeMajor ? x : { name: graph.op('Transpose', [x.name], [onnxAttribute.ints('perm', [1, 0, 2])]), timeMajor: true };
}

/**
 * Which steps of `x` [batch, time, …] (batch-major) are real: a bool
 * [batch, time] tensor, step t < lengths[b].
 */
export function stepMask(graph: OnnxGraph, x: string, lengths: string): string {
  const steps = graph.op('Range', [graph.scalar('zero', 0, 'int64'), axisSize(graph, x, 1), graph.scalar('one', 1, 'int64')]);
  const limits = graph.op('Unsqueeze', [graph.op('Cast', [lengths], [onnxAttribute.int('to', ONNX_INT64)]), graph.int64s('axes', [1])]);
  return graph.op('Less', [steps, limits]);
}

/** The size of axis `axis` of `x` as a 0-d int64 value. */
export function axisSize(graph: OnnxGraph, x: string, axis: number): string {
  return graph.op('Gather', [graph.op('Shape', [x]), graph.scalar('axis', axis, 'int64')]);
}

/** GELU in its exact form, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), from Erf (opset 13) and arithmetic. */
export function geluOnnx(graph: OnnxGraph, x: string): string {
  const phi = graph.op('Add', [graph.op('Erf', [graph.op('Mul', [x, graph.scalar('inv_sqrt2', Math.SQRT1_2, 'float')])]), graph.scalar('one', 1, 'float')]);
  return graph.op('Mul', [graph.op('Mul', [x, graph.scalar('half', 0.5, 'float')]), phi]);
}

/**
 * A reduction over `axes` without keeping them: ReduceSum takes its axes
 * as an input from opset 13, ReduceMean and ReduceMax from 18.
 */
export function reduceOnnx(graph: OnnxGraph, op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', x: string, axes: number[], opset = 17): string {
  return op === 'ReduceSum' || opset >= 18
    ? graph.op(op, [x, graph.int64s('axes', axes)], [onnxAttribute.int('keepdims', 0)])
    : graph.op(op, [x], [onnxAttribute.ints('axes', axes), onnxAttribute.int('keepdims', 0)]);
}

/** TensorProto.DataType of int64 and float, for Cast. */
export const ONNX_INT64 = 7;
export const ONNX_FLOAT = 1;

/** What an export cannot express: `ERR_EDDY_ONNX`. */
export function onnxError(message: string): EddyError {
  return new EddyError(message, 'ERR_EDDY_ONNX');
}

/** Refuses a time-major layer (naming it and the option): values between exported layers are batch-major. */
export function checkOnnxBatchFirst(layer: Module, batchFirst: boolean): void {
  if (!batchFirst) throw onnxError(`Export supports batch-first layers only; ${layer.toString()} has batchFirst=false`);
}

/** Lowers one call of any registered layer, or refuses it naming the layer and what export supports. */
export function lowerLayer(layer: Module, x: OnnxValue, ctx: OnnxLoweringContext): OnnxValue {
  const lowering = registrationOf(layer)?.onnx;
  if (!lowering) {
    const supported = registeredLayers().filter((name) => registrationOf(name)?.onnx);
    throw onnxError(`Export does not support ${layer.toString()} yet (supported: ${supported.join(', ')})`);
  }
  return lowering(layer, x, ctx);
}
