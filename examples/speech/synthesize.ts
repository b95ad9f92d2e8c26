/**
 * Spoken digit strings synthesised with espeak-ng in many voices, speeds
 * and pitches, with background noise mixed in by sox: a speech corpus made
 * on the spot, with exact transcripts and voices that can be held out.
 *
 * A voice is an espeak-ng accent (en-us, en-gb-scotland, …) with a voice
 * variant (m1…m7, f1…f4, …: formant and breathiness settings); held-out
 * voices share neither accent nor variant with the training voices.
 *
 * Starting a synthesiser costs far more than speaking, so each call reads
 * a group of utterances separated by one-second SSML breaks (one voice,
 * speed, pitch and noise per group); sox adds the noise to the whole
 * group, and the utterances are cut apart where the clean recording is
 * silent for the length of a break (espeak-ng leaves no such gap inside
 * a digit string). A cut that does not give one piece per utterance is an
 * error, never a silently wrong transcript.
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
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
  /** Mono samples of the noisy recording. */
  samples: Float32Array;
  sampleRate: number;
  /** The digits spoken, 0–9. */
  digits: number[];
  voice: Voice;
}

export interface SynthesisOptions {
  /** Folder for the intermediate files (created; the caller removes it). */
  dir: string;
  /** Utterances to make. */
  count: number;
  voices: Voice[];
  /** Fewest and most digits per utterance. */
  minDigits: number;
  maxDigits: number;
  generator: eddy.Generator;
  /** Utterances per synthesiser call. @default 10 */
  perCall?: number;
  /** Calls run at once. @default 2 */
  concurrency?: number;
  /** Called after each group with the number of utterances made so far. */
  onProgress?: (done: number) => void;
}

/** Whether espeak-ng and sox are on the PATH (the corpus needs both). */
export async function haveSpeechTools(): Promise<boolean> {
  const audioRuntime = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-audio-runtime-'));
  try {
    await espeak(['--version'], audioRuntime);
    await run('sox', ['--version']);
    return true;
  } catch {
    return false;
  } finally {
    await fs.rm(audioRuntime, { recursive: true, force: true });
  }
}

/**
 * Runs espeak-ng with `audioRuntime` as its audio runtime folder. espeak-ng
 * starts an audio client even when it only writes a file or prints its
 * version, and without a runtime folder of its own that client makes one in
 * the temporary folder and links it from ~/.config/pulse.
 */
async function espeak(args: string[], audioRuntime: string): Promise<void> {
  await run('espeak-ng', args, { env: { ...process.env, PULSE_RUNTIME_PATH: audioRuntime } });
}

const NOISES = ['whitenoise', 'pinknoise', 'brownnoise'];
const BREAK_SECONDS = 1;
/** Silence at least this long separates two utterances (a break, less what the voice's fade-out takes). */
const GAP_SECONDS = 0.4;
/** Below this amplitude a clean sample counts as silent. */
const SILENT = 1e-3;
/** Kept either side of an utterance, from the break. */
const MARGIN_SECONDS = 0.1;

/** [start, end) sample ranges of the sounds in `x` separated by silences of at least `gap` samples. */
function splitOnSilence(x: Float32Array, gap: number): [number, number][] {
  const pieces: [number, number][] = [];
  let start = -1;
  let lastLoud = -1;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) < SILENT) continue;
    if (start < 0) start = i;
    else if (i - lastLoud > gap) {
      pieces.push([start, lastLoud + 1]);
      start = i;
    }
    lastLoud = i;
  }
  if (start >= 0) pieces.push([start, lastLoud + 1]);
  return pieces;
}

interface Group {
  index: number;
  utterances: number[][];
  voice: Voice;
  speed: number;
  pitch: number;
  noise: string;
  level: number;
}

async function synthesizeGroup(dir: string, audioRuntime: string, j: Group): Promise<Utterance[]> {
  const ssml = path.join(dir, `group-${j.index}.ssml`);
  const clean = path.join(dir, `group-${j.index}-clean.wav`);
  const noisy = path.join(dir, `group-${j.index}.wav`);
  const text = j.utterances.map((digits) => digits.map((d) => DIGIT_WORDS[d]).join(' ')).join(` <break time="${BREAK_SECONDS * 1000}ms"/> `);
  await fs.writeFile(ssml, `<speak>${text}</speak>`);
  await espeak(['-m', '-v', `${j.voice.accent}+${j.voice.variant}`, '-s', String(j.speed), '-p', String(j.pitch), '-f', ssml, '-w', clean], audioRuntime);
  const speech = await eddy.audio.readWav(clean);
  const rate = speech.sampleRate;
  const seconds = (speech.channels[0].length / rate).toFixed(4);
  // -m mixes the inputs, each scaled by its -v; -R fixes sox's random seed, so a run is reproducible.
  const noise = `|sox -R -n -r ${rate} -c 1 -p synth ${seconds} ${j.noise}`;
  await run('sox', ['-R', '-m', '-v', '1', clean, '-v', j.level.toFixed(3), noise, noisy]);
  const mixed = eddy.audio.toMono(await eddy.audio.readWav(noisy));
  const pieces = splitOnSilence(speech.channels[0], Math.round(GAP_SECONDS * rate));
  if (pieces.length !== j.utterances.length) {
    throw new Error(`espeak-ng group ${j.index} (${j.voice.accent}+${j.voice.variant}, speed ${j.speed}): expected ${j.utterances.length} utterances between breaks but found ${pieces.length}`);
  }
  await Promise.all([ssml, clean, noisy].map((f) => fs.rm(f)));
  const margin = Math.round(MARGIN_SECONDS * rate);
  return pieces.map(([a, b], k) => ({
    samples: mixed.slice(Math.max(0, a - margin), Math.min(mixed.length, b + margin)),
    sampleRate: rate,
    digits: j.utterances[k],
    voice: j.voice,
  }));
}

/**
 * Makes `count` utterances: random digit strings read by random voices at
 * 130–210 words per minute and pitch 25–75, each group mixed with white,
 * pink or brown noise at a random level (signal-to-noise roughly 10–30 dB).
 */
export async function synthesizeDigits(o: SynthesisOptions): Promise<Utterance[]> {
  await fs.mkdir(o.dir, { recursive: true });
  const g = o.generator;
  const pick = <T>(items: T[]): T => items[Math.floor(g.next() * items.length)];
  const perCall = o.perCall ?? 10;
  const groups: Group[] = [];
  for (let i = 0; i < o.count; i += perCall) {
    const utterances = Array.from({ length: Math.min(perCall, o.count - i) }, () => {
      const n = o.minDigits + Math.floor(g.next() * (o.maxDigits - o.minDigits + 1));
      return Array.from({ length: n }, () => Math.floor(g.next() * 10));
    });
    groups.push({
      index: groups.length, utterances, voice: pick(o.voices), noise: pick(NOISES),
      speed: 130 + Math.floor(g.next() * 81), pitch: 25 + Math.floor(g.next() * 51), level: 0.03 + 0.2 * g.next() ** 2,
    });
  }
  // The audio runtime folder espeak-ng is given (see espeak), removed with the rest.
  const audioRuntime = await fs.mkdtemp(path.join(o.dir, 'audio-runtime-'));
  const out: Utterance[][] = new Array(groups.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const j = groups[next++];
      out[j.index] = await synthesizeGroup(o.dir, audioRuntime, j);
      done += j.utterances.length;
      o.onProgress?.(done);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency ?? 2 }, worker));
  } finally {
    await fs.rm(audioRuntime, { recursive: true, force: true });
  }
  return out.flat();
}
