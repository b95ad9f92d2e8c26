/** `eddy.onnx`: export to ONNX for onnxruntime and other runtimes. */
export { exportOnnx as export, exportOnnx, toOnnx } from './export';
export type { OnnxExportOptions } from './export';
