/**
 * `describeModelFile`: what a model file holds, from its header alone. The
 * weights are not read and the model is not built (building allocates and
 * initializes every weight), so describing a file of any size costs about
 * what its header does.
 */
import { FormatError } from '../errors';
import { checkConfigSize, checkVersion, callerMetadata, META_KIND, parseModelConfig, RESERVED_SEPARATOR } from './model-file';
import { SafetensorsDType } from './safetensors';
import { checkPath, readSafetensorsHeader } from './safetensors-file';

/** What {@link describeModelFile} reads from a model file's header. */
export interface ModelFileInfo {
  /** The version of Eddy's model-file format. */
  formatVersion: number;
  /** 'model' or 'checkpoint'. */
  kind: string;
  /**
   * The layer tree from the file's config, one layer per line with its
   * config values, indented by depth; children are named by their
   * state-dict prefix in sequential and functional models, by config key
   * elsewhere.
   */
  architecture: string;
  /** The layer config (`{ className, config }`). */
  config: unknown;
  /** Total number of weights (a checkpoint's optimizer state not counted). */
  parameters: number;
  /** The stored tensors, in file order. */
  tensors: {
    /** The tensor's name. */
    name: string;
    /** Its element type. */
    dtype: SafetensorsDType;
    /** Its shape. */
    shape: number[];
  }[];
  /** The file's string metadata (Eddy's keys and the caller's). */
  metadata: Record<string, string>;
}

/**
 * What `eddy info model.safetensors` prints: the architecture and parameter count, read from the
 * header (the weights are not read, the model not built).
 * @param path - The model or checkpoint file.
 * @throws {@link FormatError} when the file is malformed.
 * @throws {@link FileError} when the file cannot be read.
 */
export async function describeModelFile(path: string): Promise<ModelFileInfo> {
  checkPath('path', path);
  const what = JSON.stringify(path);
  const { entries, metadata } = await readSafetensorsHeader(path);
  const formatVersion = checkVersion(metadata, what);
  const spec = parseModelConfig(metadata, what);
  const sizes = entries.map((e) => e.shape.reduce((n, d) => n * d, 1));
  checkConfigSize(spec, sizes.reduce((a, n) => a + n, 0), what);
  const lines: string[] = [];
  renderLayer(spec, '', 0, lines, what);
  return {
    formatVersion,
    kind: metadata.get(META_KIND) ?? 'model',
    architecture: lines.join('\n'),
    config: spec,
    parameters: entries.reduce((a, e, i) => (e.name.includes(RESERVED_SEPARATOR) ? a : a + sizes[i]), 0),
    tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape })),
    metadata: callerMetadata(metadata),
  };
}

type Spec = { className: string; config: Record<string, unknown> };

function isSpec(v: unknown): v is Spec {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.className === 'string' && o.config !== null && typeof o.config === 'object' && !Array.isArray(o.config);
}

/** Containers whose `layers` array holds their children under their state-dict indices. */
const INDEXED = new Set(['Sequential', 'GraphModel']);

/** One line per layer: `name: Class(key=value, …)`, nested layers below it. */
function renderLayer(spec: unknown, name: string, depth: number, lines: string[], what: string): void {
  if (depth > 64) throw new FormatError(`Expected at most 64 levels of nested layers in the model config of ${what}`);
  if (!isSpec(spec)) throw new FormatError(`Expected { className, config } for the model config${name ? ` at ${name}` : ''} in ${what}`);
  const prefix = `${'  '.repeat(depth)}${name ? `${name}: ` : ''}`;
  const children: [string, unknown][] = [];
  const values: string[] = [];
  for (const [key, value] of Object.entries(spec.config)) {
    if (INDEXED.has(spec.className) && key === 'layers' && Array.isArray(value)) value.forEach((v, i) => children.push([String(i), v]));
    else if (isSpec(value)) children.push([key, value]);
    else if (Array.isArray(value) && value.length > 0 && value.every(isSpec)) value.forEach((v, i) => children.push([`${key}[${i}]`, v]));
    else if (!INDEXED.has(spec.className)) values.push(`${key}=${formatValue(value)}`);
  }
  if (INDEXED.has(spec.className)) lines.push(`${prefix}${spec.className}(${children.length} layers)`);
  else lines.push(`${prefix}${spec.className}(${values.join(', ')})`);
  for (const [child, value] of children) renderLayer(value, child, depth + 1, lines, what);
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
