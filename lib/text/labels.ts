/**
 * Class labels for sequence classification: label ↔ index maps and class
 * weights that balance rare classes in `losses.crossEntropy({ weight })`.
 */
import { FormatError, ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkOptions, describe, fail, optionKeys, quote } from '../validate';

/** A {@link LabelMap} as plain JSON (`toJSON()`). */
export interface LabelMapJSON {
  /** Identifies the class. */
  type: 'LabelMap';
  /** The labels by class index. */
  classes: string[];
}

/**
 * Labels (strings) to class indices 0 … C−1 and back; `fromLabels` sorts
 * the classes, as sklearn's LabelEncoder does, so the map does not depend
 * on the order of the data.
 */
export class LabelMap {
  /** The labels by class index. */
  readonly classes: readonly string[];
  private readonly index: Map<string, number>;

  /**
   * @param classes - The labels by class index, distinct.
   * @throws {@link ValidationError} when `classes` is empty or holds a duplicate.
   */
  constructor(classes: readonly string[]) {
    if (!Array.isArray(classes) || classes.length === 0) fail('non-empty array of class labels', 'classes', classes);
    classes.forEach((c, i) => {
      if (typeof c !== 'string') fail('string', `classes[${i}]`, c);
    });
    if (new Set(classes).size !== classes.length) fail('distinct class labels', 'classes', classes);
    this.classes = classes.slice();
    this.index = new Map(classes.map((c, i) => [c, i]));
  }

  /**
   * The distinct labels of `labels`, sorted (numbers and booleans become strings).
   * @param labels - The labels of a data set, in any order, with repeats.
   * @example
   * ```ts
   * const labels = eddy.text.LabelMap.fromLabels(['spam', 'ham', 'spam']);
   * labels.encode(['ham', 'spam']); // Int32Array [0, 1]
   * ```
   */
  static fromLabels(labels: Iterable<string | number | boolean>): LabelMap {
    if (labels === null || typeof labels !== 'object' || !(Symbol.iterator in labels)) fail('iterable of labels', 'labels', labels);
    const set = new Set<string>();
    for (const l of labels) set.add(String(l));
    return new LabelMap([...set].sort());
  }

  /** Number of classes. */
  get size(): number {
    return this.classes.length;
  }

  /**
   * The index of one label.
   * @param label - A label of the map.
   * @throws {@link ValidationError} when the label is unknown.
   */
  indexOf(label: string | number | boolean): number {
    const i = this.index.get(String(label));
    if (i === undefined) fail(`one of the ${this.size} known labels`, 'label', label);
    return i;
  }

  /**
   * Class indices for `labels`; an unknown label is an error naming its position.
   * @param labels - Labels of the map.
   * @throws {@link ValidationError} when a label is unknown.
   */
  encode(labels: readonly (string | number | boolean)[]): Int32Array {
    if (!Array.isArray(labels)) fail('array of labels', 'labels', labels);
    return Int32Array.from(labels, (l, i) => {
      const k = this.index.get(String(l));
      if (k === undefined) throw new ValidationError(`Expected one of the ${this.size} known labels (${this.classes.slice(0, 5).map((c) => quote(c)).join(', ')}${this.size > 5 ? ', …' : ''}) for labels[${i}] but received ${describe(l)}`);
      return k;
    });
  }

  /**
   * The labels of class indices (or of a Tensor of them).
   * @param indices - Class indices.
   * @throws {@link ValidationError} when an index is out of range.
   */
  decode(indices: ArrayLike<number> | Tensor): string[] {
    const values = indices instanceof Tensor ? indices.toFloat32Array() : indices;
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') fail('array of class indices or Tensor', 'indices', indices);
    return Array.from({ length: values.length }, (_, i) => {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.size) fail(`class index between 0 and ${this.size - 1}`, `indices[${i}]`, v);
      return this.classes[v];
    });
  }

  /** The map as plain JSON, for `fromJSON`. */
  toJSON(): LabelMapJSON {
    return { type: 'LabelMap', classes: this.classes.slice() };
  }

  /**
   * Rebuilds a map from `toJSON()`'s output; malformed input gives a FormatError.
   * @param json - The output of `toJSON()` (parsed).
   * @throws {@link FormatError} when `json` is malformed.
   */
  static fromJSON(json: unknown): LabelMap {
    if (json === null || typeof json !== 'object' || (json as { type?: unknown }).type !== 'LabelMap') {
      throw new FormatError(`Expected a LabelMap JSON object ({ type: "LabelMap", classes }) for json but received ${describe(json)}`);
    }
    const classes = (json as { classes?: unknown }).classes;
    if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string') || new Set(classes).size !== classes.length) {
      throw new FormatError(`Expected a non-empty array of distinct strings for json.classes but received ${describe(classes)}`);
    }
    return new LabelMap(classes);
  }

  /** The classes, for messages. */
  toString(): string {
    return `LabelMap(${this.size} classes)`;
  }
}

/** The options of {@link classWeights}. */
export interface ClassWeightOptions {
  /** Number of classes when labels are indices. @default the largest index + 1 */
  numClasses?: number;
}

/** The keys of ClassWeightOptions, for checkOptions. */
export const CLASS_WEIGHT_OPTION_KEYS = optionKeys<ClassWeightOptions>({ numClasses: true });

/**
 * sklearn's 'balanced' class weights, n / (C · count_c): every class gets
 * the same total weight, and a model that ignores the rare classes no
 * longer wins. `labels` are class indices (Int32Array, numbers, a Tensor);
 * use `labelMap.encode` first for strings. Pass the result as
 * `losses.crossEntropy(logits, y, { weight })`.
 * @param labels - The class index of every example.
 * @param opts - {@link ClassWeightOptions}.
 * @throws {@link ValidationError} when an index is negative or not below `numClasses`.
 */
export function classWeights(labels: ArrayLike<number> | Tensor, opts?: ClassWeightOptions): Float32Array {
  const values = labels instanceof Tensor ? labels.toFloat32Array() : labels;
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number' || values.length === 0) fail('non-empty array of class indices or Tensor', 'labels', labels);
  const o = checkOptions('options', opts, CLASS_WEIGHT_OPTION_KEYS);
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0) fail('non-negative integer class index', `labels[${i}]`, v);
    if (v > max) max = v;
  }
  const C = o.numClasses ?? max + 1;
  if (!Number.isInteger(C) || C < max + 1) fail(`integer >= ${max + 1} (the largest label + 1)`, 'numClasses', o.numClasses);
  const counts = new Float64Array(C);
  for (let i = 0; i < values.length; i++) counts[values[i]]++;
  const w = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    if (counts[c] === 0) throw new ValidationError(`Expected at least one example of every class for classWeights but received none of class ${c} (of ${C})`);
    w[c] = values.length / (C * counts[c]);
  }
  return w;
}
