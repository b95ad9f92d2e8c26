/** Loading the NumPy/SciPy results of scripts/make-audio-fixtures.py. */
import * as fs from 'fs';
import * as path from 'path';

export interface WavCase {
  name: string;
  base64: string;
  sampleRate: number;
  channels: number[][];
}

export interface ResampleCase {
  fromRate: number;
  toRate: number;
  signal: number[];
  expected: number[];
}

export interface FeatureCase {
  options: {
    sampleRate: number;
    frameLength: number;
    hopLength: number;
    fftSize: number;
    window: 'hann' | 'hamming';
    preEmphasis: number;
    power: 1 | 2;
    melBands: number;
    fMin: number;
    fMax: number;
    melScale: 'htk' | 'slaney';
    melNorm: 'none' | 'slaney';
    coefficients: number;
  };
  signal: number[];
  frames: number;
  spectrogram: number[];
  filterbank: number[];
  logMel: number[];
  mfcc: number[];
}

interface AudioFixtures {
  wav: WavCase[];
  resample: ResampleCase[];
  features: FeatureCase[];
}

let cached: AudioFixtures | undefined;

/** The fixture file, committed; regenerate with `python3 scripts/make-audio-fixtures.py`. */
export function audioFixtures(): AudioFixtures {
  cached ??= JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'audio', 'audio.json'), 'utf8')) as AudioFixtures;
  return cached;
}
