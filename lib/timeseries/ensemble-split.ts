/**
 * The default forecaster's ensemble split over the ranks of a job
 * (`fitForecaster({ distributed: true })`): member k trains on rank
 * k mod worldSize from its own seed (seed + k), so every member, and the
 * merged network, is the one a single process trains, whatever the world
 * size. One sum then gathers every member to every rank: each rank fills
 * the slots of the members it trained and leaves the others zero, and the
 * weights travel as the integers of their float32 bit patterns, so the
 * gathered weights are the trained ones bit for bit (an integer below 2³²
 * plus zeros is exact in float64, and so are -0 and NaN this way).
 *
 * A rank that fails before the gather (training a member, or filling its
 * slots) still takes part in it, with its failure flagged in the sum, so
 * every rank fails at once instead of waiting for the collective timeout:
 * the failing rank with its own error, the others naming it.
 */
import { DistributedError } from '../errors';
import type { DataParallel } from '../model/parallel';
import type { LagNetwork } from './lag-network';

/** A trained member of the ensemble and what training it measured. */
export interface TrainedMember {
  net: LagNetwork;
  /** Epochs kept: the best on the validation tail, or the refit's epochs. */
  bestEpochs: number;
  /** The best validation loss; NaN after a refit (no validation tail). */
  valLoss: number;
  /** Per-epoch losses. */
  history: { loss: number[]; valLoss: number[] };
}

/** Whether this rank trains member `k` (every member when there is no job). */
export function trainsMember(dp: DataParallel | null, k: number): boolean {
  return !dp || k % dp.worldSize === dp.rank;
}

/**
 * Every member on every rank: `members[k]` is this rank's trained member or
 * null where another rank trained it; `blank()` makes a network of the
 * members' shape to receive one; `maxEpochs` bounds every history's length.
 * `failure` is an error this rank met before the gather (training its
 * members): it is thrown here once every rank has learnt of it.
 * @throws the local failure on the rank that failed, and a DistributedError naming it on the others.
 */
export async function gatherMembers(dp: DataParallel, members: readonly (TrainedMember | null)[], blank: () => LagNetwork, maxEpochs: number, failure?: unknown): Promise<TrainedMember[]> {
  const weights = (net: LagNetwork): Float32Array[] => net.model.parameters().map((p) => p.data.data);
  // The first worldSize values flag the ranks that failed; then, per member: P weight bit
  // patterns, bestEpochs, valLoss (NaN: none), the two history lengths, then the histories.
  const head = dp.worldSize;
  const slot = weights(blank()).reduce((a, w) => a + w.length, 0) + 4 + 2 * maxEpochs;
  const buf = new Float64Array(head + members.length * slot);
  let local = failure;
  try {
    members.forEach((m, k) => {
      if (!m || local !== undefined) return;
      let at = head + k * slot;
      for (const w of weights(m.net)) {
        const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
        for (let i = 0; i < bits.length; i++) buf[at++] = bits[i];
      }
      if (m.history.loss.length > maxEpochs || m.history.valLoss.length > maxEpochs) throw new RangeError(`member ${k} trained more than ${maxEpochs} epochs`);
      buf.set([m.bestEpochs, m.valLoss, m.history.loss.length, m.history.valLoss.length], at);
      buf.set(m.history.loss, at + 4);
      buf.set(m.history.valLoss, at + 4 + maxEpochs);
    });
  } catch (err) {
    local = err;
  }
  if (local !== undefined) {
    buf.fill(0);
    buf[dp.rank] = 1;
  }
  try {
    await dp.sum(buf);
  } catch (err) {
    if (local === undefined) throw err;
  }
  // The local error says more than the collective's.
  if (local !== undefined) throw local;
  const failed = [...buf.subarray(0, head).keys()].filter((r) => buf[r] !== 0);
  if (failed.length > 0) {
    throw new DistributedError(`Training the forecaster's ensemble failed on rank${failed.length > 1 ? 's' : ''} ${failed.join(', ')} (which reports its own error); rank ${dp.rank} stops too`, 'ERR_EDDY_DISTRIBUTED_PEER');
  }
  return members.map((m, k) => {
    if (m) return m;
    const net = blank();
    let at = head + k * slot;
    for (const w of weights(net)) {
      const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
      for (let i = 0; i < bits.length; i++) bits[i] = buf[at++];
    }
    const [bestEpochs, valLoss, lossLength, valLength] = buf.subarray(at, at + 4);
    return {
      net,
      bestEpochs,
      valLoss,
      history: { loss: Array.from(buf.subarray(at + 4, at + 4 + lossLength)), valLoss: Array.from(buf.subarray(at + 4 + maxEpochs, at + 4 + maxEpochs + valLength)) },
    };
  });
}
