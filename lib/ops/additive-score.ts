/**
 * Bahdanau's additive attention score as one native op:
 * scores[b, i, j] = Σ_h v[h] · tanh(qp[b, i, h] + kp[b, j, h]).
 * The [B, Tq, Tk, H] tensor of tanh arguments is never materialized.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { binding } from '../native';
import { checkTensor, denseData, Tensor } from '../tensor/tensor';
import { formatShape } from '../validate';

/** qp [B, Tq, H], kp [B, Tk, H], v [H] → scores [B, Tq, Tk]. */
export function additiveScore(qp: Tensor, kp: Tensor, v: Tensor): Tensor {
  checkTensor('qp', qp);
  checkTensor('kp', kp);
  checkTensor('v', v);
  if (qp.rank !== 3 || kp.rank !== 3 || v.rank !== 1 || kp.shape[0] !== qp.shape[0] || kp.shape[2] !== qp.shape[2] || v.shape[0] !== qp.shape[2]) {
    throw new ShapeError(
      `Expected qp [B, Tq, H], kp [B, Tk, H] and v [H] for additiveScore but received ${formatShape(qp.shape)}, ${formatShape(kp.shape)} and ${formatShape(v.shape)}`,
    );
  }
  const [B, Tq, H] = qp.shape;
  const Tk = kp.shape[1];
  const q = denseData(qp), k = denseData(kp), w = denseData(v);
  const s = new Float32Array(B * Tq * Tk);
  binding.additiveScore({ s, qp: q, kp: k, v: w, B, Tq, Tk, H });
  const out = new Tensor(s, [B, Tq, Tk]);
  recordSingleOutput('additiveScore', [qp, kp, v], out, (g) => {
    const dqp = qp.requiresGrad ? new Float32Array(q.length) : null;
    const dkp = kp.requiresGrad ? new Float32Array(k.length) : null;
    const dv = v.requiresGrad ? new Float32Array(w.length) : null;
    binding.additiveScoreBackward({ ds: denseData(g), qp: q, kp: k, v: w, dqp, dkp, dv, B, Tq, Tk, H });
    return [dqp && new Tensor(dqp, qp.shape), dkp && new Tensor(dkp, kp.shape), dv && new Tensor(dv, v.shape)];
  });
  return out;
}
