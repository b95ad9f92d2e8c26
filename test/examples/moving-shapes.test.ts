/**
 * The video example (examples/moving-shapes.ts) at CI size: a per-frame
 * MLP encoder and an LSTM learn to tell 16 kinds of motion (direction,
 * speed, bounce) apart from rendered 32×32 clips, and must classify at
 * least 90 % of held-out clips right (chance: 6.25 %).
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { CLASSES, FRAMES, motionOf, renderClips, SIZE, SPEEDS, trainMotionClassifier } from '../../examples/moving-shapes';

describe('video example: motion of rendered shapes', () => {
  it('renders clips whose frames show one shape moving as labelled', () => {
    const clips = renderClips(64, new eddy.Generator(3));
    assert.deepStrictEqual(clips.x.shape, [64, FRAMES, SIZE * SIZE]);
    const x = clips.x.toFloat32Array();
    const labels = clips.y.toFloat32Array();
    // The shape's centre of mass along the motion axis, frame by frame (pixels above 0.5: the shape, not the noise).
    for (let i = 0; i < 64; i++) {
      const m = motionOf(labels[i]);
      const centres: number[] = [];
      for (let f = 0; f < FRAMES; f++) {
        let sum = 0;
        let n = 0;
        for (let p = 0; p < SIZE * SIZE; p++) {
          if (x[(i * FRAMES + f) * SIZE * SIZE + p] < 0.5) continue;
          sum += m.direction < 2 ? p % SIZE : Math.floor(p / SIZE);
          n++;
        }
        centres.push(sum / n);
      }
      const steps = centres.slice(1).map((c, f) => (m.direction % 2 === 0 ? c - centres[f] : centres[f] - c));
      const speed = SPEEDS[m.speed];
      // Every step moves the shape by the speed, forwards until a bounce and backwards after it (a step that touches the edge may move less).
      const backwards = steps.filter((s) => s < 0).length;
      assert.ok(Math.abs(steps[0] - speed) < 1e-9, `clip ${i}: first step ${steps[0]}, speed ${speed}`);
      assert.ok(m.bounce ? backwards >= 2 : backwards === 0, `clip ${i}: bounce ${m.bounce}, steps ${steps.join(' ')}`);
    }
    assert.ok(new Set(Array.from(labels)).size > CLASSES / 2);
  });

  it('a per-frame encoder and an LSTM classify held-out clips with at least 90 % accuracy', async () => {
    const started = Date.now();
    const { accuracy } = await trainMotionClassifier({ clips: 2400, epochs: 8, seed: 1 });
    const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
    console.log(`      held-out accuracy ${pct(accuracy.all)} (direction ${pct(accuracy.direction)}, speed ${pct(accuracy.speed)}, bounce ${pct(accuracy.bounce)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(accuracy.all >= 0.9, `held-out accuracy ${accuracy.all}`);
  });
});
