/**
 * Every built-in layer class declares, next to its class, the facts other
 * parts of Eddy rely on: its config round trip, a parameter bound for the
 * hostile-file check, whether it acts per time step, and its ONNX lowering
 * (or null, a refusal). A new layer that forgets one, or has no example
 * here, fails this test.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Module, Tensor } from '../../lib';
import { parameterLowerBound } from '../../lib/io/config-bound';
import { actsPerStep, registeredLayers, registrationOf } from '../../lib/nn/registry';
import { toOnnx } from '../../lib/onnx/export';

/** A small layer of each built-in class. */
const EXAMPLES: Record<string, () => Module> = {
  Linear: () => new eddy.Linear({ inFeatures: 3, outFeatures: 2 }),
  Embedding: () => new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 3 }),
  Dropout: () => new eddy.Dropout({ p: 0.5 }),
  LayerNorm: () => new eddy.LayerNorm({ normalizedShape: 3 }),
  Tanh: () => new eddy.Tanh(),
  Sigmoid: () => new eddy.Sigmoid(),
  ReLU: () => new eddy.ReLU(),
  GELU: () => new eddy.GELU(),
  Softmax: () => new eddy.Softmax(),
  LogSoftmax: () => new eddy.LogSoftmax(-1),
  Concatenate: () => new eddy.Concatenate(),
  Add: () => new eddy.Add(),
  AdditiveAttention: () => new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5 }),
  DotAttention: () => new eddy.DotAttention(),
  GeneralAttention: () => new eddy.GeneralAttention({ querySize: 3, keySize: 4 }),
  SequencePooling: () => new eddy.SequencePooling({ mode: 'last' }),
  MultiHeadAttention: () => new eddy.MultiHeadAttention({ embedDim: 4, numHeads: 2, kdim: 3 }),
  PositionalEncoding: () => new eddy.PositionalEncoding({ dModel: 3, maxLen: 10, kind: 'learned' }),
  TransformerEncoderLayer: () => new eddy.TransformerEncoderLayer({ dModel: 4, nhead: 2, dimFeedforward: 6 }),
  TransformerEncoder: () => new eddy.TransformerEncoder({ dModel: 4, nhead: 2, dimFeedforward: 6, normFirst: true }, { numLayers: 2, norm: true }),
  TransformerDecoderLayer: () => new eddy.TransformerDecoderLayer({ dModel: 4, nhead: 1, dimFeedforward: 6, activation: 'gelu' }),
  TransformerDecoder: () => new eddy.TransformerDecoder({ dModel: 4, nhead: 2, dimFeedforward: 6 }, { numLayers: 2 }),
  RNN: () => new eddy.RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2 }),
  LSTM: () => new eddy.LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true }),
  GRU: () => new eddy.GRU({ inputSize: 3, hiddenSize: 4 }),
  Bidirectional: () => new eddy.Bidirectional(new eddy.GRU({ inputSize: 3, hiddenSize: 4 })),
  Sequential: () => eddy.sequential([new eddy.Linear({ inFeatures: 3, outFeatures: 4 }), new eddy.Tanh()]),
  GraphModel: () => {
    const x = eddy.input({ shape: [null, 3] });
    return eddy.model({ inputs: x, outputs: new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(x) });
  },
};

/** Registered classes that Eddy itself exports (other tests register their own). */
function builtIns(): string[] {
  const exported = new Set<unknown>(Object.values(eddy));
  return registeredLayers().filter((name) => exported.has(registrationOf(name)?.layerClass));
}

const parameterCount = (m: Module): number => m.parameters().reduce((a, p) => a + p.data.size, 0);

describe('per-class layer facts', () => {
  it('every built-in layer class has an example here', () => {
    assert.deepStrictEqual(builtIns().filter((name) => !EXAMPLES[name]), []);
    assert.ok(builtIns().length >= Object.keys(EXAMPLES).length, `registered built-ins: ${builtIns().join(', ')}`);
  });

  for (const [name, make] of Object.entries(EXAMPLES)) {
    describe(name, () => {
      it('declares parameterBound, perStep and onnx in its registration', () => {
        const reg = registrationOf(name);
        assert.ok(reg, `${name} is not registered`);
        for (const fact of ['parameterBound', 'perStep', 'onnx'] as const) assert.ok(fact in reg, `${name} does not declare ${fact}`);
      });

      it('round-trips its config', () => {
        const layer = make();
        const config = eddy.layerToConfig(layer);
        assert.strictEqual(config.className, name);
        assert.deepStrictEqual(eddy.layerToConfig(eddy.layerFromConfig(JSON.parse(JSON.stringify(config)))), config);
      });

      it('bounds its parameters from the config alone, never above what it holds', () => {
        const layer = make();
        const bound = parameterLowerBound(eddy.layerToConfig(layer));
        const count = parameterCount(layer);
        assert.ok(bound <= count, `bound ${bound} > ${count} parameters`);
        // Everything but biases is counted: a layer with weights has a positive bound.
        if (count > 0) assert.ok(bound > 0, `bound 0 for ${count} parameters`);
      });

      it('acts per time step exactly when it says so', () => {
        const layer = make();
        const x = name === 'Embedding' ? eddy.tensor(new Float32Array([1, 4, 0, 2]), [1, 4]) : eddy.tensor(new eddy.Generator(3).uniform(new Float32Array(12), -1, 1), [1, 4, 3]);
        if (!actsPerStep(layer)) return;
        layer.eval();
        const whole = eddy.noGrad(() => (layer as unknown as { forward(t: Tensor): Tensor }).forward(x));
        const steps = [0, 1, 2, 3].map((t) => eddy.noGrad(() => (layer as unknown as { forward(t: Tensor): Tensor }).forward(eddy.slice(x, 1, t, t + 1))));
        const joined = eddy.concat(steps, 1);
        assert.deepStrictEqual(Array.from(joined.data), Array.from(whole.data));
      });

      it('lowers to ONNX, or refuses with ERR_EDDY_ONNX naming the layer', () => {
        const layer = make();
        const reg = registrationOf(name)!;
        // Export drops Dropout (the identity at inference), so it needs a layer beside it.
        const layers = (name === 'Dropout' ? [new eddy.Linear({ inFeatures: 3, outFeatures: 3 }), layer] : [layer]) as eddy.Layer[];
        let model: eddy.Model = layer instanceof eddy.Sequential ? layer : eddy.sequential(layers);
        if (layer instanceof eddy.AdditiveAttention || layer instanceof eddy.DotAttention || layer instanceof eddy.GeneralAttention) {
          // Attention reads a query and keys: a graph with two inputs.
          const size = (layer as { querySize?: number | null }).querySize ?? 3;
          const query = eddy.input({ shape: [null, size] });
          const keys = eddy.input({ shape: [null, (layer as { keySize?: number | null }).keySize ?? size] });
          model = eddy.model({ inputs: [query, keys], outputs: layer.apply([query, keys]) });
        }
        if (layer instanceof eddy.TransformerDecoderLayer || layer instanceof eddy.TransformerDecoder) {
          // A decoder reads a target and a memory.
          const d = (layer instanceof eddy.TransformerDecoder ? layer.layers[0] : layer).config.dModel;
          const target = eddy.input({ shape: [null, d] });
          const memory = eddy.input({ shape: [null, d] });
          model = eddy.model({ inputs: [target, memory], outputs: layer.apply([target, memory]) });
        }
        if (reg.onnx) {
          assert.ok(toOnnx(model).byteLength > 0);
        } else {
          assert.throws(() => toOnnx(model), (e: unknown) => (e as eddy.EddyError).code === 'ERR_EDDY_ONNX' && (e as Error).message.startsWith(`Export does not support ${layer.toString()} yet`));
        }
      });
    });
  }
});
