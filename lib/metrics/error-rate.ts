/**
 * Edit-distance metrics for sequence outputs (speech recognition,
 * handwriting, OCR): the character and word error rates, pooled over a
 * corpus — total edits divided by total reference length, as `jiwer` and
 * torchmetrics compute them, so long utterances weigh more than short ones.
 */
import { ShapeError, ValidationError } from '../errors';
import { fail } from '../validate';

/** A sequence to compare: a string (compared by characters) or labels. */
export type Sequence = string | readonly number[];

/**
 * Levenshtein distance: the fewest insertions, deletions and substitutions that turn a into b.
 * @param a - The first sequence.
 * @param b - The second sequence.
 */
export function editDistance(a: Sequence, b: Sequence): number {
  const x = checkSequence('a', a);
  const y = checkSequence('b', b);
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[y.length];
}

function checkSequence(name: string, value: unknown): readonly (string | number)[] {
  if (typeof value === 'string') return [...value];
  if (Array.isArray(value)) return value as number[];
  return fail('a string or an array of labels', name, value);
}

function pair(hypotheses: unknown, references: unknown, what: string): [unknown[], unknown[]] {
  const h = typeof hypotheses === 'string' ? [hypotheses] : hypotheses;
  const r = typeof references === 'string' ? [references] : references;
  if (!Array.isArray(h)) fail(`an array of ${what} (or one)`, 'hypotheses', hypotheses);
  if (!Array.isArray(r)) fail(`an array of ${what} (or one)`, 'references', references);
  if (h.length !== r.length) throw new ShapeError(`Expected as many hypotheses as references (${r.length}) but received ${h.length}`);
  return [h, r];
}

function rate(h: unknown[], r: unknown[], split: (v: unknown, name: string) => readonly unknown[]): number {
  let edits = 0;
  let length = 0;
  h.forEach((hyp, i) => {
    const a = split(hyp, `hypotheses[${i}]`);
    const b = split(r[i], `references[${i}]`);
    edits += editDistance(a as number[], b as number[]);
    length += b.length;
  });
  if (length === 0) throw new ValidationError('Expected references with at least one token in total but received only empty references');
  return edits / length;
}

/**
 * Character error rate: total edit distance between each hypothesis and
 * its reference over the total length of the references. Takes strings
 * (compared by characters) or label arrays, one or an array of them.
 * @param hypotheses - Predicted sequence(s).
 * @param references - Reference sequence(s), one per hypothesis.
 * @throws ShapeError if the counts differ; ValidationError if every reference is empty.
 */
export function cer(hypotheses: Sequence | readonly Sequence[], references: Sequence | readonly Sequence[]): number {
  // A string or a flat array of numbers is one sequence, not a batch (the reference decides: a hypothesis may be empty).
  const single = typeof references === 'string' || (Array.isArray(references) && references.length > 0 && typeof references[0] === 'number');
  const [h, r] = single ? pair([hypotheses], [references], 'strings or label arrays') : pair(hypotheses, references, 'strings or label arrays');
  return rate(h, r, (v, name) => checkSequence(name, v));
}

/**
 * Word error rate: as `cer` over words, with strings split on whitespace.
 * @param hypotheses - Predicted text(s).
 * @param references - Reference text(s), one per hypothesis.
 * @throws ShapeError if the counts differ; ValidationError if every reference is empty.
 */
export function wer(hypotheses: string | readonly string[], references: string | readonly string[]): number {
  const [h, r] = pair(hypotheses, references, 'strings');
  return rate(h, r, (v, name) => {
    if (typeof v !== 'string') fail('a string', name, v);
    return v.split(/\s+/).filter((w) => w.length > 0);
  });
}
