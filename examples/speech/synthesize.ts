/**
 * Spoken digit strings synthesised with espeak-ng in many voices, speeds
 * and pitches, with background noise mixed in by sox: a speech corpus made
 * on the spot, with exact transcripts and voices that can be held out.
 *
 * A voice is an espeak-ng accent (en-us, en-gb-scotland, …) with a voice
 * variant (m1…m7, f1…f4, …: formant and breathiness settings); held-out
 * voices share neither accent nor variant with the training voices.
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as eddy from '../../lib';

const run = promisify(execFile);

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

export interface Voice {
  accent: string;
  variant: string;
}

/** Training voices: 4 accents × 7 variants. */
export const TRAIN_VOICES: Voice[] = ['en-us', 'en', 'en-gb-scotland', 'en-029'].flatMap((accent) => ['m1', 'm2', 'm3', 'm5', 'f1', 'f2', 'klatt'].map((variant) => ({ accent, variant })));
/** Held-out voices: 2 other accents × 4 other variants. */
export const TEST_VOICES: Voice[] = ['en-gb-x-rp', 'en-gb-x-gbcwmd'].flatMap((accent) => ['m4', 'm6', 'f3', 'f4'].map((variant) => ({ accent, variant })));

export interface Utterance {
  /** The noisy WAV file. */
  file: string;
  /** The digits spoken, 0–9. */
  digits: number[];
  voice: Voice;
}

export interface SynthesisOptions {
  /** Folder for the WAV files (created). */
  dir: string;
  /** Utterances to make. */
  count: number;
  voices: Voice[];
  /** Fewest and most digits per utterance. */
  minDigits: number;
  maxDigits: number;
  generator: eddy.Generator;
  /** Processes run at once. */
  concurrency?: number;
  /** Called after each utterance. */
  onProgress?: (done: number) => void;
}

/** Whether espeak-ng and sox are on the PATH (the corpus needs both). */
export async function haveSpeechTools(): Promise<boolean> {
  try {
    await run('espeak-ng', ['--version']);
    await run('sox', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const NOISES = ['whitenoise', 'pinknoise', 'brownnoise'];
const NOISE_SECONDS = 8;

/** One noise file per colour, long enough for any utterance, made once per folder. */
async function noiseFiles(dir: string): Promise<string[]> {
  return Promise.all(NOISES.map(async (kind) => {
    const file = path.join(dir, `noise-${kind}.wav`);
    await run('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', file, 'synth', String(NOISE_SECONDS), kind]);
    return file;
  }));
}

/**
 * Makes `count` utterances: random digit strings read by random voices at
 * 130–210 words per minute and pitch 25–75, each mixed with white, pink or
 * brown noise at a random level (signal-to-noise roughly 10–30 dB).
 */
export async function synthesizeDigits(o: SynthesisOptions): Promise<Utterance[]> {
  await fs.mkdir(o.dir, { recursive: true });
  const noises = await noiseFiles(o.dir);
  const g = o.generator;
  const pick = <T>(items: T[]): T => items[Math.floor(g.next() * items.length)];
  const jobs = Array.from({ length: o.count }, (_, i) => {
    const n = o.minDigits + Math.floor(g.next() * (o.maxDigits - o.minDigits + 1));
    const digits = Array.from({ length: n }, () => Math.floor(g.next() * 10));
    return {
      index: i, digits, voice: pick(o.voices), noise: pick(noises),
      speed: 130 + Math.floor(g.next() * 81), pitch: 25 + Math.floor(g.next() * 51), level: 0.03 + 0.2 * g.next() ** 2,
    };
  });
  const out: Utterance[] = new Array(o.count);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const clean = path.join(o.dir, `clean-${j.index}.wav`);
      const file = path.join(o.dir, `utt-${j.index}.wav`);
      const text = j.digits.map((d) => DIGIT_WORDS[d]).join(' ');
      await run('espeak-ng', ['-v', `${j.voice.accent}+${j.voice.variant}`, '-s', String(j.speed), '-p', String(j.pitch), '-w', clean, text]);
      const seconds = (await fs.stat(clean)).size / (2 * 22050);
      // -m mixes the inputs (each scaled by its -v); the noise is cut to the speech's length.
      await run('sox', ['-m', '-v', '1', clean, '-v', j.level.toFixed(3), j.noise, file, 'trim', '0', seconds.toFixed(4)]);
      await fs.rm(clean);
      out[j.index] = { file, digits: j.digits, voice: j.voice };
      o.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 3 }, worker));
  return out;
}
