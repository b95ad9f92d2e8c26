#!/usr/bin/env python3
"""NumPy/SciPy reference results for eddy.audio.

Writes test/fixtures/audio/audio.json (and nothing else). Run from anywhere,
with NumPy and SciPy importable:

    PYTHONPATH=/path/to/numpy-and-scipy python3 scripts/make-audio-fixtures.py

Signals are rounded to float32 first (Eddy takes float32 samples), then
everything is computed in float64:

* wav: small WAV files written by scipy.io.wavfile (8/16/32-bit PCM, 32/64-bit
  float, mono and stereo) or packed here byte by byte (24-bit PCM,
  WAVE_FORMAT_EXTENSIBLE), base64-encoded, with the samples they hold
  scaled to [-1, 1) (integers divided by 2^(bits-1), 8-bit offset by 128).
* resample: scipy.signal.resample_poly(x, up, down) for several rate pairs.
* features: power spectrogram, log-mel and MFCC for two signals and two
  option sets, written out from the textbook definitions (frames, periodic
  window, numpy.fft.rfft, triangular mel filters, scipy.fft.dct norm='ortho').
"""
import base64
import io
import json
import math
import os
import struct

import numpy as np
import scipy.fft
import scipy.io.wavfile
import scipy.signal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'audio', 'audio.json')
rng = np.random.default_rng(20261129)


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def chirp_signal(n, rate, f0, f1, noise):
    t = np.arange(n) / rate
    x = 0.5 * scipy.signal.chirp(t, f0, t[-1], f1) + 0.2 * np.sin(2 * np.pi * 440 * t) + noise * rng.standard_normal(n)
    return f32(np.clip(x, -0.99, 0.99))


def floats(x):
    # 10 significant digits: far below the float32 tolerances the tests use, and half the size of full precision.
    return [float('%.10g' % v) for v in np.asarray(x).reshape(-1)]


# ---- WAV ------------------------------------------------------------------

def wav_case(name, write, rate, channels):
    buf = io.BytesIO()
    write(buf)
    return {'name': name, 'base64': base64.b64encode(buf.getvalue()).decode('ascii'), 'sampleRate': rate,
            'channels': [floats(c) for c in channels]}


def pack_riff(fmt_body, data, extra_chunks=b''):
    fmt = b'fmt ' + struct.pack('<I', len(fmt_body)) + fmt_body
    body = b'WAVE' + fmt + extra_chunks + b'data' + struct.pack('<I', len(data)) + data + (b'\0' if len(data) % 2 else b'')
    return b'RIFF' + struct.pack('<I', len(body)) + body


def wav_cases():
    cases = []
    n, rate = 50, 11025
    base = np.clip(np.sin(np.linspace(0, 7, n)) * 0.9 + rng.uniform(-0.1, 0.1, n), -1, 0.999)
    left, right = base, -0.5 * base
    i16 = np.round(base * 32767).astype(np.int16)
    cases.append(wav_case('pcm16-mono', lambda b: scipy.io.wavfile.write(b, rate, i16), rate, [i16 / 32768.0]))
    st = np.stack([np.round(left * 32767), np.round(right * 32767)], axis=1).astype(np.int16)
    cases.append(wav_case('pcm16-stereo', lambda b: scipy.io.wavfile.write(b, 8000, st), 8000, [st[:, 0] / 32768.0, st[:, 1] / 32768.0]))
    i32 = np.round(base * (2**31 - 1)).astype(np.int32)
    cases.append(wav_case('pcm32-mono', lambda b: scipy.io.wavfile.write(b, 48000, i32), 48000, [i32 / 2.0**31]))
    u8 = np.round(base * 127 + 128).astype(np.uint8)
    cases.append(wav_case('pcm8-mono', lambda b: scipy.io.wavfile.write(b, 8000, u8), 8000, [(u8.astype(np.float64) - 128) / 128]))
    fl = base.astype(np.float32)
    cases.append(wav_case('float32-mono', lambda b: scipy.io.wavfile.write(b, 22050, fl), 22050, [fl.astype(np.float64)]))
    f64 = np.stack([left, right], axis=1)
    cases.append(wav_case('float64-stereo', lambda b: scipy.io.wavfile.write(b, 96000, f64), 96000, [left, right]))
    # 24-bit PCM, stereo, with a LIST chunk of odd size before the data (padded to even).
    i24 = np.stack([np.round(left * (2**23 - 1)), np.round(right * (2**23 - 1))], axis=1).astype(np.int64)
    data = b''.join(int(v).to_bytes(3, 'little', signed=True) for v in i24.reshape(-1))
    fmt = struct.pack('<HHIIHH', 1, 2, 44100, 44100 * 6, 6, 24)
    lst = b'LIST' + struct.pack('<I', 5) + b'INFO!' + b'\0'
    cases.append({'name': 'pcm24-stereo', 'base64': base64.b64encode(pack_riff(fmt, data, lst)).decode('ascii'), 'sampleRate': 44100,
                  'channels': [floats(i24[:, 0] / 2.0**23), floats(i24[:, 1] / 2.0**23)]})
    # WAVE_FORMAT_EXTENSIBLE holding 16-bit PCM (sub-format GUID 00000001-0000-0010-8000-00aa00389b71).
    guid = struct.pack('<IHH', 1, 0, 0x10) + bytes([0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71])
    fmt = struct.pack('<HHIIHHHHI', 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 4) + guid
    cases.append({'name': 'extensible-pcm16', 'base64': base64.b64encode(pack_riff(fmt, i16.tobytes())).decode('ascii'), 'sampleRate': 16000,
                  'channels': [floats(i16 / 32768.0)]})
    return cases


# ---- resampling -------------------------------------------------------------

def resample_cases():
    cases = []
    for rate_in, rate_out, n in [(22050, 16000, 700), (16000, 8000, 500), (8000, 22050, 300), (44100, 16000, 600), (16000, 16000, 50), (12000, 16000, 5)]:
        x = chirp_signal(n, rate_in, 100, rate_in * 0.45, 0.05)
        g = math.gcd(rate_in, rate_out)
        y = scipy.signal.resample_poly(x, rate_out // g, rate_in // g)
        cases.append({'fromRate': rate_in, 'toRate': rate_out, 'signal': floats(x), 'expected': floats(y)})
    return cases


# ---- features ---------------------------------------------------------------

def hz_to_mel(f, scale):
    if scale == 'htk':
        return 2595 * np.log10(1 + f / 700)
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-12) / 1000) / np.log(6.4))


def mel_to_hz(m, scale):
    if scale == 'htk':
        return 700 * (10 ** (m / 2595) - 1)
    return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))


def mel_filters(bands, fft_size, rate, fmin, fmax, scale, norm):
    freqs = np.linspace(0, rate / 2, fft_size // 2 + 1)
    pts = mel_to_hz(np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), bands + 2), scale)
    down = (freqs[None, :] - pts[:-2, None]) / (pts[1:-1, None] - pts[:-2, None])
    up = (pts[2:, None] - freqs[None, :]) / (pts[2:, None] - pts[1:-1, None])
    w = np.maximum(0, np.minimum(down, up))
    if norm == 'slaney':
        w *= (2 / (pts[2:] - pts[:-2]))[:, None]
    return w


def features(x, o):
    rate, L, hop, nfft = o['sampleRate'], o['frameLength'], o['hopLength'], o['fftSize']
    n = len(x)
    frames = 0 if n == 0 else (1 if n < L else 1 + (n - L) // hop)
    padded = np.concatenate([x, np.zeros(L)])
    window = scipy.signal.get_window(o['window'], L, fftbins=True)
    rows = []
    for t in range(frames):
        frame = padded[t * hop:t * hop + L].copy()
        a = o['preEmphasis']
        frame = frame - a * np.concatenate([frame[:1], frame[:-1]])
        spec = np.abs(np.fft.rfft(frame * window, nfft)) ** o['power']
        rows.append(spec)
    power = np.array(rows)
    fb = mel_filters(o['melBands'], nfft, rate, o['fMin'], o['fMax'], o['melScale'], o['melNorm'])
    log_mel = np.log(np.maximum(power @ fb.T, 1e-10))
    mfcc = scipy.fft.dct(log_mel, type=2, norm='ortho', axis=1)[:, :o['coefficients']]
    return {'spectrogram': floats(power), 'filterbank': floats(fb), 'logMel': floats(log_mel), 'mfcc': floats(mfcc), 'frames': frames}


def feature_cases():
    a = chirp_signal(2400, 16000, 80, 7000, 0.02)
    b = chirp_signal(1500, 8000, 200, 3500, 0.1)
    opts_a = {'sampleRate': 16000, 'frameLength': 400, 'hopLength': 160, 'fftSize': 512, 'window': 'hann', 'preEmphasis': 0.0,
              'power': 2, 'melBands': 40, 'fMin': 0.0, 'fMax': 8000.0, 'melScale': 'htk', 'melNorm': 'none', 'coefficients': 13}
    opts_b = {'sampleRate': 8000, 'frameLength': 200, 'hopLength': 80, 'fftSize': 256, 'window': 'hamming', 'preEmphasis': 0.97,
              'power': 1, 'melBands': 23, 'fMin': 60.0, 'fMax': 3800.0, 'melScale': 'slaney', 'melNorm': 'slaney', 'coefficients': 20}
    return [{'options': opts_a, 'signal': floats(a), **features(a, opts_a)},
            {'options': opts_b, 'signal': floats(b), **features(b, opts_b)}]


def main():
    out = {'wav': wav_cases(), 'resample': resample_cases(), 'features': feature_cases()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
