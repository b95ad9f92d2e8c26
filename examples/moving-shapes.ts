/**
 * Sequence analysis of video: clips of 32×32 frames, each showing one shape
 * (a square, a disc or a triangle) moving across the frame, are classified
 * by their motion — direction (right, left, down, up), speed (1 or 3 pixels
 * a frame) and whether the shape bounces off the frame's edge on the way —
 * 16 classes in all.
 *
 * The frame-sequence pattern of video models: a per-frame encoder (an MLP;
 * eddy's Linear acts on the last axis, so on [batch, frames, pixels] it
 * encodes every frame alone) turns each frame into a feature vector, and an
 * LSTM reads the vectors in order. The encoder sees where the shape is; only
 * the LSTM, comparing frames, sees how it moves.
 *
 * Run with `npx tsc -p . && node dist/examples/moving-shapes.js [clips] [epochs]`.
 */
import * as eddy from '../lib';

export const SIZE = 32;
export const FRAMES = 8;
export const DIRECTIONS = ['right', 'left', 'down', 'up'] as const;
export const SPEEDS = [1, 3] as const;
const SHAPES = ['square', 'disc', 'triangle'] as const;

/** A clip's motion: the class is direction · 4 + speed · 2 + bounce. */
export interface Motion {
  direction: number;
  speed: number;
  bounce: number;
}

export const CLASSES = DIRECTIONS.length * SPEEDS.length * 2;

export function classOf(m: Motion): number {
  return m.direction * 4 + m.speed * 2 + m.bounce;
}

export function motionOf(c: number): Motion {
  return { direction: c >> 2, speed: (c >> 1) & 1, bounce: c & 1 };
}

/** Whether pixel (dx, dy) of a `size`-pixel box belongs to the shape. */
function inside(shape: (typeof SHAPES)[number], dx: number, dy: number, size: number): boolean {
  if (shape === 'square') return true;
  const c = (size - 1) / 2;
  if (shape === 'disc') return (dx - c) ** 2 + (dy - c) ** 2 <= (c + 0.5) ** 2;
  return Math.abs(dx - c) <= dy / 2 + 0.5; // a triangle standing on its base
}

/**
 * `count` clips with uniformly drawn classes: frames [count, FRAMES,
 * SIZE·SIZE] (pixels in [0, 1] plus a little noise) and labels [count].
 * A bouncing shape starts so that it meets the edge between the third and
 * the third-last frame; any other shape stays clear of the edge.
 */
export function renderClips(count: number, g: eddy.Generator): { x: eddy.Tensor; y: eddy.Tensor; motions: Motion[] } {
  const pixels = SIZE * SIZE;
  const x = g.normal(new Float32Array(count * FRAMES * pixels), 0, 0.05);
  const labels = new Float32Array(count);
  const motions: Motion[] = [];
  const pick = (n: number): number => Math.floor(g.next() * n);
  for (let i = 0; i < count; i++) {
    const m = motionOf(pick(CLASSES));
    motions.push(m);
    labels[i] = classOf(m);
    const shape = SHAPES[pick(SHAPES.length)];
    const size = 5 + pick(3);
    const speed = SPEEDS[m.speed];
    const span = SIZE - size; // positions 0..span along an axis
    const travel = speed * (FRAMES - 1);
    // Position along the motion, measured from the edge the shape moves away from.
    let start: number;
    if (m.bounce) {
      const hit = 2 + pick(FRAMES - 4); // frame index at which it reaches the far edge
      start = span - speed * hit;
    } else {
      start = pick(span - travel + 1);
    }
    const across = pick(span + 1);
    let along = start;
    let v: number = speed;
    for (let f = 0; f < FRAMES; f++) {
      // right/down move towards larger coordinates; left/up are the mirror image.
      const pos = m.direction % 2 === 0 ? along : span - along;
      const [px, py] = m.direction < 2 ? [pos, across] : [across, pos];
      const frame = (i * FRAMES + f) * pixels;
      for (let dy = 0; dy < size; dy++) {
        for (let dx = 0; dx < size; dx++) if (inside(shape, dx, dy, size)) x[frame + (py + dy) * SIZE + px + dx] += 1;
      }
      along += v;
      if (along > span) {
        along = 2 * span - along;
        v = -v;
      }
    }
  }
  return { x: new eddy.Tensor(x, [count, FRAMES, pixels]), y: new eddy.Tensor(labels, [count]), motions };
}

/** Per-frame MLP encoder → LSTM → the motion class. */
export function motionModel(g: eddy.Generator): eddy.Sequential {
  return eddy.sequential([
    new eddy.Linear({ inFeatures: SIZE * SIZE, outFeatures: 128, generator: g }), // per frame: [batch, frames, 1024] → [batch, frames, 128]
    new eddy.ReLU(),
    new eddy.Linear({ inFeatures: 128, outFeatures: 64, generator: g }),
    new eddy.ReLU(),
    new eddy.LSTM({ inputSize: 64, hiddenSize: 64, generator: g }), // reads the frames in order
    new eddy.SequencePooling({ mode: 'last' }),
    new eddy.Linear({ inFeatures: 64, outFeatures: CLASSES, generator: g }),
  ]);
}

/** Accuracy of the predicted class, and of each attribute of the motion alone. */
export async function motionAccuracy(model: eddy.Sequential, clips: { x: eddy.Tensor; motions: Motion[] }): Promise<{ all: number; direction: number; speed: number; bounce: number }> {
  const logits = (await model.predict(clips.x, { batchSize: 256 })).toFloat32Array();
  const n = clips.motions.length;
  const right = { all: 0, direction: 0, speed: 0, bounce: 0 };
  clips.motions.forEach((m, i) => {
    const row = Array.from(logits.subarray(i * CLASSES, (i + 1) * CLASSES));
    const p = motionOf(row.indexOf(Math.max(...row)));
    right.all += Number(classOf(p) === classOf(m));
    right.direction += Number(p.direction === m.direction);
    right.speed += Number(p.speed === m.speed);
    right.bounce += Number(p.bounce === m.bounce);
  });
  return { all: right.all / n, direction: right.direction / n, speed: right.speed / n, bounce: right.bounce / n };
}

/** Renders clips, trains the model and reports held-out accuracy. */
export async function trainMotionClassifier(opts: { clips: number; epochs: number; seed: number; log?: (line: string) => void }): Promise<{ model: eddy.Sequential; accuracy: Awaited<ReturnType<typeof motionAccuracy>> }> {
  const g = new eddy.Generator(opts.seed);
  const train = renderClips(opts.clips, g);
  const test = renderClips(Math.max(200, opts.clips >> 2), g);
  const model = motionModel(g);
  await model.fit(
    { x: train.x, y: train.y },
    {
      epochs: opts.epochs,
      batchSize: 32,
      loss: 'crossEntropy',
      optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.003 }),
      clipNorm: 5,
      generator: g,
      callbacks: { onEpochEnd: (epoch, logs) => opts.log?.(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)}`) },
    },
  );
  return { model, accuracy: await motionAccuracy(model, test) };
}

async function main(): Promise<void> {
  const clips = Number(process.argv[2] ?? 2400);
  const epochs = Number(process.argv[3] ?? 8);
  const started = Date.now();
  const { accuracy } = await trainMotionClassifier({ clips, epochs, seed: 0, log: console.log });
  const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
  console.log(`held-out accuracy ${pct(accuracy.all)} (direction ${pct(accuracy.direction)}, speed ${pct(accuracy.speed)}, bounce ${pct(accuracy.bounce)}; chance ${pct(1 / CLASSES)}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (require.main === module) void main();
