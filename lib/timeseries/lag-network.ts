/**
 * The default forecaster's network: a one-hidden-layer MLP on the lag
 * features plus a linear path from the features straight to the outputs
 * (the autoregressive "highway" of LSTNet), summed:
 *
 *   out = W2 · relu(W1 · x + b1) + b2 + Ws · x + bs        (H outputs)
 *
 * The output layer and the linear path start at zero, so an untrained
 * network forecasts no change: the naive forecast.
 *
 * An ensemble of K such networks averages to one network of the same shape
 * with K times the hidden units (W1, b1 stacked; W2 side by side and
 * divided by K; b2, Ws, bs averaged), so a trained ensemble is saved and
 * served as one ordinary graph model.
 */
import { Add } from '../layers/merge';
import { Linear } from '../layers/linear';
import { ReLU } from '../layers/activations';
import { input, model, GraphModel } from '../model/functional';
import { Generator } from '../random';

/** The layers of one network, to train and to merge. */
export interface LagNetwork {
  model: GraphModel;
  hidden: Linear;
  output: Linear;
  linear: Linear;
}

/** A network from `features` inputs through `hidden` units to `horizon` outputs. */
export function lagNetwork(features: number, hidden: number, horizon: number, generator?: Generator): LagNetwork {
  const x = input({ shape: [features], name: 'lags' });
  const hiddenLayer = new Linear({ inFeatures: features, outFeatures: hidden, generator });
  const output = new Linear({ inFeatures: hidden, outFeatures: horizon, generator });
  const linear = new Linear({ inFeatures: features, outFeatures: horizon, generator });
  for (const layer of [output, linear]) {
    layer.weight.data.data.fill(0);
    layer.bias?.data.data.fill(0);
  }
  const out = new Add().apply([output.apply(new ReLU().apply(hiddenLayer.apply(x))), linear.apply(x)]);
  return { model: model({ inputs: x, outputs: out }), hidden: hiddenLayer, output, linear };
}

/** One network equal to the mean of `members` (all of the same shape). */
export function averageNetworks(members: readonly LagNetwork[]): LagNetwork {
  const K = members.length;
  const first = members[0];
  const D = first.hidden.inFeatures;
  const w = first.hidden.outFeatures;
  const H = first.output.outFeatures;
  const merged = lagNetwork(D, K * w, H);
  const W1 = merged.hidden.weight.data.data; // (K·w, D)
  const b1 = merged.hidden.bias!.data.data; // (K·w)
  const W2 = merged.output.weight.data.data; // (H, K·w)
  const b2 = merged.output.bias!.data.data; // (H)
  const Ws = merged.linear.weight.data.data; // (H, D)
  const bs = merged.linear.bias!.data.data; // (H)
  members.forEach((m, k) => {
    W1.set(m.hidden.weight.data.data, k * w * D);
    b1.set(m.hidden.bias!.data.data, k * w);
    const w2 = m.output.weight.data.data;
    for (let h = 0; h < H; h++) for (let j = 0; j < w; j++) W2[h * K * w + k * w + j] = w2[h * w + j] / K;
    const add = (into: Float32Array, from: Float32Array): void => from.forEach((v, i) => (into[i] += v / K));
    add(b2, m.output.bias!.data.data);
    add(Ws, m.linear.weight.data.data);
    add(bs, m.linear.bias!.data.data);
  });
  return merged;
}
