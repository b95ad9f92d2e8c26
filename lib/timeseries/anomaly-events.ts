/**
 * From per-sample anomaly scores to events, and event-level precision and
 * recall: what matters when monitoring is whether each real event raised
 * an alarm and how many alarms were false, not how many samples were
 * flagged.
 */
import { ValidationError } from '../errors';
import { checkInteger, checkNumber, checkOptions, describe, fail, optionKeys } from '../validate';

/** Samples [start, end) of a signal. */
export interface SampleRange {
  /** The first sample. */
  start: number;
  /** One past the last sample. */
  end: number;
}

/** An alarm: a run of scores above the threshold, with its peak score. */
export interface Alarm extends SampleRange {
  /** The highest score in the run. */
  peak: number;
}

/** The options of {@link alarms}. */
export interface AlarmOptions {
  /** Runs above the threshold separated by fewer samples than this merge into one alarm. @default 0 */
  minGap?: number;
}

/** The keys of AlarmOptions, for checkOptions. */
export const ALARM_OPTION_KEYS = optionKeys<AlarmOptions>({ minGap: true });

/**
 * The alarms in `scores`: maximal runs of samples whose score is above
 * `threshold`, runs closer than `minGap` samples merged.
 * @param scores - One score per sample.
 * @param threshold - The score above which a sample is anomalous.
 * @param options - {@link AlarmOptions}.
 */
export function alarms(scores: Float32Array | readonly number[], threshold: number, options?: AlarmOptions): Alarm[] {
  checkScores('scores', scores);
  checkNumber('threshold', threshold);
  const opts = checkOptions('options', options, ALARM_OPTION_KEYS);
  const minGap = checkInteger('options.minGap', opts.minGap ?? 0, 0);
  const out: Alarm[] = [];
  let current: Alarm | null = null;
  for (let t = 0; t < scores.length; t++) {
    const s = scores[t];
    if (!(s > threshold)) continue;
    const gap = current ? t - current.end : Infinity;
    if (gap === 0 || gap < minGap) {
      current!.end = t + 1;
      current!.peak = Math.max(current!.peak, s);
    } else {
      current = { start: t, end: t + 1, peak: s };
      out.push(current);
    }
  }
  return out;
}

/** The options of {@link eventScores}. */
export interface EventScoreOptions {
  /**
   * Samples after an event's end during which an alarm still counts for it
   * (a detector that reads the past notices some events, like a missing
   * beat, only after them). @default 0
   */
  tolerance?: number;
}

/** The keys of EventScoreOptions, for checkOptions. */
export const EVENT_SCORE_OPTION_KEYS = optionKeys<EventScoreOptions>({ tolerance: true });

/** Event-level scores of a detector against labelled events. */
export interface EventScores {
  /** Alarms that overlap an event (its end extended by the tolerance), over all alarms; 1 when there is no alarm. */
  precision: number;
  /** Events with at least one overlapping alarm, over all events; 1 when there is no event. */
  recall: number;
  /** The harmonic mean of precision and recall. */
  f1: number;
  /** Events detected. */
  detected: number;
  /** Events missed. */
  missed: number;
  /** Alarms that overlap an event. */
  trueAlarms: number;
  /** Alarms that overlap none. */
  falseAlarms: number;
}

/**
 * Event-level precision and recall: an event counts as detected when an
 * alarm overlaps it (its end extended by `tolerance`), an alarm counts as
 * true when it overlaps an event. Lists from several records add up with
 * `sumEventScores`.
 * @param found - The alarms a detector raised.
 * @param events - The labelled events.
 * @param options - {@link EventScoreOptions}.
 */
export function eventScores(found: readonly SampleRange[], events: readonly SampleRange[], options?: EventScoreOptions): EventScores {
  const opts = checkOptions('options', options, EVENT_SCORE_OPTION_KEYS);
  const tolerance = checkInteger('options.tolerance', opts.tolerance ?? 0, 0);
  checkRanges('found', found);
  checkRanges('events', events);
  const overlaps = (a: SampleRange, e: SampleRange): boolean => a.start < e.end + tolerance && e.start < a.end;
  const detected = events.filter((e) => found.some((a) => overlaps(a, e))).length;
  const trueAlarms = found.filter((a) => events.some((e) => overlaps(a, e))).length;
  return withRates({ detected, missed: events.length - detected, trueAlarms, falseAlarms: found.length - trueAlarms });
}

/**
 * Adds up the counts of several records' `eventScores` and recomputes the rates.
 * @param scores - One `eventScores` result per record.
 */
export function sumEventScores(scores: readonly EventScores[]): EventScores {
  const sum = (k: 'detected' | 'missed' | 'trueAlarms' | 'falseAlarms'): number => scores.reduce((s, x) => s + x[k], 0);
  return withRates({ detected: sum('detected'), missed: sum('missed'), trueAlarms: sum('trueAlarms'), falseAlarms: sum('falseAlarms') });
}

function withRates(c: Pick<EventScores, 'detected' | 'missed' | 'trueAlarms' | 'falseAlarms'>): EventScores {
  const alarmsRaised = c.trueAlarms + c.falseAlarms;
  const events = c.detected + c.missed;
  const precision = alarmsRaised === 0 ? 1 : c.trueAlarms / alarmsRaised;
  const recall = events === 0 ? 1 : c.detected / events;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, ...c };
}

/**
 * The `q` quantile of the finite values of one or more score arrays
 * (linear interpolation between order statistics, like numpy's default).
 * @param scores - One score array, or several.
 * @param q - The quantile, in [0, 1].
 */
export function quantile(scores: Float32Array | readonly number[] | readonly (Float32Array | readonly number[])[], q: number): number {
  checkNumber('q', q, { min: 0, max: 1 });
  const lists = Array.isArray(scores) && scores.length > 0 && typeof scores[0] !== 'number' ? (scores as (Float32Array | number[])[]) : [scores as Float32Array | number[]];
  const values: number[] = [];
  lists.forEach((list, i) => {
    checkScores(lists.length > 1 ? `scores[${i}]` : 'scores', list);
    for (const v of list) if (Number.isFinite(v)) values.push(v);
  });
  if (values.length === 0) throw new ValidationError('Expected at least one finite score for scores but received none');
  values.sort((a, b) => a - b);
  const at = q * (values.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(values.length - 1, lo + 1);
  return values[lo] + (values[hi] - values[lo]) * (at - lo);
}

function checkScores(name: string, scores: unknown): void {
  if (!(scores instanceof Float32Array) && !(scores instanceof Float64Array) && !Array.isArray(scores)) fail('a Float32Array or an array of numbers', name, scores);
}

function checkRanges(name: string, ranges: unknown): void {
  if (!Array.isArray(ranges)) fail('an array of { start, end } sample ranges', name, ranges);
  ranges.forEach((r: unknown, i) => {
    const ok = r !== null && typeof r === 'object' && Number.isInteger((r as SampleRange).start) && Number.isInteger((r as SampleRange).end) && (r as SampleRange).end >= (r as SampleRange).start;
    if (!ok) throw new ValidationError(`Expected a { start, end } sample range with integer start <= end for ${name}[${i}] but received ${describe(r)}`);
  });
}
