import * as assert from 'assert';
import * as eddy from '../../lib';
import { Module, Tensor } from '../../lib';

/** Through JSON text, as a model file carries it. */
const viaJson = (m: Module): unknown => JSON.parse(JSON.stringify(eddy.layerToConfig(m)));

const shapes = (m: Module): [string, number[]][] => m.namedParameters().map(([name, p]) => [name, p.shape.slice()]);

const seq3 = (B: number, T: number, F: number, phase = 0): Tensor =>
  eddy.tensor(Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(0.37 * i + phase)), [B, T, F]);

/** Rebuilds `m` from its JSON config, checks it describes the same layer, and returns it with `m`'s weights loaded. */
function roundTrip<M extends Module>(m: M): M {
  const config = viaJson(m);
  const rebuilt = eddy.layerFromConfig(config) as M;
  assert.strictEqual(rebuilt.constructor, m.constructor);
  assert.strictEqual(rebuilt.toString(), m.toString());
  assert.deepStrictEqual(shapes(rebuilt), shapes(m));
  assert.deepStrictEqual(eddy.layerToConfig(rebuilt), config, 'the rebuilt layer has the same config');
  rebuilt.loadStateDict(m.stateDict());
  return rebuilt;
}

describe('layer configs', () => {
  it('holds exactly the constructor options, defaults applied', () => {
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Linear({ inFeatures: 3, outFeatures: 2 })), { className: 'Linear', config: { inFeatures: 3, outFeatures: 2, bias: true } });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 2 })).config, { numEmbeddings: 5, embeddingDim: 2, paddingIdx: null });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 2, paddingIdx: -1 })).config, { numEmbeddings: 5, embeddingDim: 2, paddingIdx: 4 });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Dropout()).config, { p: 0.5 });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.LayerNorm({ normalizedShape: 4 })).config, { normalizedShape: [4], eps: 1e-5, elementwiseAffine: true });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Tanh()), { className: 'Tanh', config: {} });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.Softmax()).config, { dim: -1 });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.DotAttention()).config, { scale: false });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.AdditiveAttention({ querySize: 2, keySize: 3, hiddenSize: 4 })).config, { querySize: 2, keySize: 3, hiddenSize: 4, bias: true });
    assert.deepStrictEqual(eddy.layerToConfig(new eddy.SequencePooling({ mode: 'max' })).config, { mode: 'max' });
    // The recurrent layers own their option lists (which grow: recurrentDropout, …); these are PyTorch's.
    const lstm = eddy.layerToConfig(new eddy.LSTM({ inputSize: 3, hiddenSize: 4 })).config;
    const pytorch = { inputSize: 3, hiddenSize: 4, numLayers: 1, bias: true, batchFirst: true, dropout: 0, bidirectional: false, projSize: 0 };
    for (const [key, value] of Object.entries(pytorch)) assert.strictEqual(lstm[key], value, key);
    assert.strictEqual(eddy.layerToConfig(new eddy.GRU({ inputSize: 3, hiddenSize: 4 })).config.resetAfter, true);
    assert.strictEqual(eddy.layerToConfig(new eddy.RNN({ inputSize: 3, hiddenSize: 4 })).config.nonlinearity, 'tanh');
  });

  it('rebuilds every layer type: same class, description, parameter names and shapes, config and outputs', () => {
    eddy.manualSeed(3);
    const x = seq3(2, 4, 3);
    const same = (a: Tensor, b: Tensor, what: string): void => assert.deepStrictEqual(Array.from(b.data), Array.from(a.data), what);
    const linear = new eddy.Linear({ inFeatures: 3, outFeatures: 2 });
    same(linear.forward(x), roundTrip(linear).forward(x), 'Linear');
    const noBias = new eddy.Linear({ inFeatures: 3, outFeatures: 2, bias: false });
    same(noBias.forward(x), roundTrip(noBias).forward(x), 'Linear without bias');
    const emb = new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 3, paddingIdx: 0 });
    same(emb.forward([1, 0, 5]), roundTrip(emb).forward([1, 0, 5]), 'Embedding');
    const norm = new eddy.LayerNorm({ normalizedShape: [4, 3], eps: 1e-3, elementwiseAffine: false });
    same(norm.forward(x), roundTrip(norm).forward(x), 'LayerNorm');
    roundTrip(new eddy.LayerNorm({ normalizedShape: 3 }));
    assert.strictEqual(roundTrip(new eddy.Dropout({ p: 0.25 })).p, 0.25);
    for (const act of [new eddy.Tanh(), new eddy.Sigmoid(), new eddy.ReLU(), new eddy.GELU(), new eddy.Softmax(1), new eddy.LogSoftmax(-2)]) {
      same(act.forward(x), roundTrip(act).forward(x), act.toString());
    }
    const q = seq3(2, 2, 5, 1);
    for (const att of [
      new eddy.AdditiveAttention({ querySize: 5, keySize: 3, hiddenSize: 4, bias: false }),
      new eddy.GeneralAttention({ querySize: 5, keySize: 3 }),
    ]) {
      same(att.forward(q, x).context, roundTrip(att).forward(q, x).context, att.toString());
    }
    const dot = new eddy.DotAttention({ scale: true });
    same(dot.forward(x, x).weights, roundTrip(dot).forward(x, x).weights, 'DotAttention');
    const pool = new eddy.SequencePooling({ mode: 'mean' });
    same(pool.forward(x, { lengths: [2, 4] }), roundTrip(pool).forward(x, { lengths: [2, 4] }), 'SequencePooling');
  });

  it('rebuilds RNN, LSTM and GRU with every option, and Bidirectional wrappers', () => {
    eddy.manualSeed(4);
    const x = seq3(2, 5, 3);
    const layers = [
      new eddy.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu', numLayers: 2, dropout: 0.1 }),
      new eddy.LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true, bias: false }),
      new eddy.GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, recurrentDropout: 0.25 }),
      new eddy.LSTM({ inputSize: 3, hiddenSize: 2, stateful: true }),
      new eddy.GRU({ inputSize: 5, hiddenSize: 2, batchFirst: false }),
    ];
    for (const layer of layers) {
      const rebuilt = roundTrip(layer).eval();
      if (layer.inputSize === 3) assert.deepStrictEqual(Array.from(rebuilt.forward(x).output.data), Array.from(layer.eval().forward(x).output.data), layer.toString());
    }
    const bi = new eddy.Bidirectional(new eddy.LSTM({ inputSize: 3, hiddenSize: 4 }), {
      mergeMode: 'ave',
      backwardLayer: new eddy.LSTM({ inputSize: 3, hiddenSize: 4, bias: false }),
    });
    const rebuilt = roundTrip(bi);
    assert.strictEqual(rebuilt.backwardLayer.bias, false);
    assert.deepStrictEqual(Array.from(rebuilt.forward(x, { lengths: [3, 5] }).output.data), Array.from(bi.forward(x, { lengths: [3, 5] }).output.data));
    const config = viaJson(bi) as { config: Record<string, unknown> };
    assert.deepStrictEqual(Object.keys(config.config), ['layer', 'mergeMode', 'backwardLayer']);
  });

  it('rebuilds a sequential model: the state dict loads and the outputs are identical', async () => {
    eddy.manualSeed(5);
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: 10, embeddingDim: 4 }),
      new eddy.Bidirectional(() => new eddy.GRU({ inputSize: 4, hiddenSize: 3 })),
      new eddy.LayerNorm({ normalizedShape: 6 }),
      new eddy.SequencePooling({ mode: 'last' }),
      new eddy.Dropout({ p: 0.2 }),
      new eddy.Linear({ inFeatures: 6, outFeatures: 2 }),
      new eddy.LogSoftmax(),
    ]);
    const text = JSON.stringify(eddy.layerToConfig(model));
    const rebuilt = eddy.layerFromConfig(JSON.parse(text)) as eddy.Sequential;
    assert.ok(rebuilt instanceof eddy.Sequential);
    assert.deepStrictEqual(rebuilt.layers.map(String), model.layers.map(String));
    assert.deepStrictEqual(Object.keys(rebuilt.stateDict()), Object.keys(model.stateDict()));
    rebuilt.loadStateDict(model.stateDict());
    model.eval();
    rebuilt.eval();
    const tokens = eddy.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4]);
    const lengths = [4, 2];
    assert.deepStrictEqual(Array.from((await rebuilt.predict(tokens, { lengths })).data), Array.from((await model.predict(tokens, { lengths })).data));
    assert.deepStrictEqual(Array.from(rebuilt.forward(tokens, { lengths }).data), Array.from(model.forward(tokens, { lengths }).data));
  });

  it('rebuilds a multi-input, multi-output graph with a shared layer, serialized once', () => {
    eddy.manualSeed(6);
    const a = eddy.input({ shape: [null, 3], name: 'a' });
    const b = eddy.input({ shape: [null, 3] });
    const shared = new eddy.LSTM({ inputSize: 3, hiddenSize: 4 });
    const ea = shared.apply(a);
    const decoder = new eddy.GRU({ inputSize: 3, hiddenSize: 4 });
    const d = decoder.apply([b, ea.get('h')]);
    const eb = shared.apply(b);
    const att = new eddy.DotAttention().apply([d, eb]);
    const head = new eddy.Linear({ inFeatures: 4, outFeatures: 2 });
    const model = eddy.model({ inputs: [a, b], outputs: [head.apply(att), head.apply(ea.get('c'))] });

    const config = viaJson(model) as { className: string; config: eddy.ConfigObject };
    assert.strictEqual(config.className, 'GraphModel');
    const c = config.config as unknown as { layers: eddy.LayerConfig[]; nodes: unknown[]; inputs: unknown; outputs: unknown };
    assert.deepStrictEqual(c.layers.map((l) => l.className), ['LSTM', 'GRU', 'DotAttention', 'Linear']);
    assert.deepStrictEqual(c.inputs, [{ shape: [null, 3], name: 'a' }, { shape: [null, 3] }]);
    assert.deepStrictEqual(c.nodes, [
      { layer: 0, inputs: [{ input: 0 }] },
      { layer: 1, inputs: [{ input: 1 }, { node: 0, key: 'h' }] },
      { layer: 0, inputs: [{ input: 1 }] },
      { layer: 2, inputs: [{ node: 1 }, { node: 2 }] },
      { layer: 3, inputs: [{ node: 3 }] },
      { layer: 3, inputs: [{ node: 0, key: 'c' }] },
    ]);
    assert.deepStrictEqual(c.outputs, [{ node: 4 }, { node: 5 }]);

    const rebuilt = eddy.layerFromConfig(config) as eddy.GraphModel;
    assert.strictEqual(rebuilt.toString(), 'Model(2 inputs, 2 outputs)');
    assert.deepStrictEqual(shapes(rebuilt), shapes(model));
    assert.deepStrictEqual(eddy.layerToConfig(rebuilt), config);
    rebuilt.loadStateDict(model.stateDict());
    const xs = [seq3(2, 5, 3), seq3(2, 3, 3, 2)];
    const want = model.forward(xs) as Tensor[];
    const got = rebuilt.forward(xs) as Tensor[];
    assert.strictEqual(got.length, 2);
    got.forEach((t, i) => assert.deepStrictEqual(Array.from(t.data), Array.from(want[i].data), `output ${i}`));
  });

  it('keeps single inputs and outputs single', () => {
    const x = eddy.input({ shape: [2] });
    const model = eddy.model({ inputs: x, outputs: new eddy.ReLU().apply(x) });
    const config = viaJson(model) as { config: { inputs: unknown; outputs: unknown } };
    assert.deepStrictEqual(config.config.inputs, { shape: [2] });
    assert.deepStrictEqual(config.config.outputs, { node: 0 });
    const rebuilt = eddy.layerFromConfig(config) as eddy.GraphModel;
    const t = eddy.tensor([[-1, 2]]);
    assert.deepStrictEqual(Array.from((rebuilt.forward(t) as Tensor).data), [0, 2]);
  });

  it('rejects hostile graph configs with FormatErrors naming the place', () => {
    const x = eddy.input({ shape: [2] });
    const relu = new eddy.ReLU();
    const good = eddy.layerToConfig(eddy.model({ inputs: x, outputs: eddy.sequential([new eddy.Tanh()]).apply(relu.apply(x)) }));
    const edit = (f: (c: Record<string, any>) => void): unknown => {
      const copy = JSON.parse(JSON.stringify(good));
      f(copy.config);
      return copy;
    };
    const rejects = (config: unknown, message: string): void => assert.throws(() => eddy.layerFromConfig(config), { name: 'FormatError', message });
    rejects(edit((c) => (c.nodes[0].inputs = [{ node: 0 }])), 'Expected the index of an earlier node (a non-negative integer below 0) for layer.config.nodes[0].inputs[0].node but received 0 of type number');
    rejects(edit((c) => (c.nodes[1].layer = 7)), 'Expected the index of a layer (a non-negative integer below 2) for layer.config.nodes[1].layer but received 7 of type number');
    rejects(edit((c) => (c.nodes[0].inputs = [{ input: 1 }])), 'Expected the index of a model input (a non-negative integer below 1) for layer.config.nodes[0].inputs[0].input but received 1 of type number');
    rejects(edit((c) => (c.outputs = { node: 1.5 })), 'Expected the index of an earlier node (a non-negative integer below 2) for layer.config.outputs.node but received 1.5 of type number');
    rejects(edit((c) => (c.outputs = { node: 1, key: 3 })), 'Expected a string for layer.config.outputs.key but received 3 of type number');
    rejects(edit((c) => (c.nodes[0].extra = true)), 'Unexpected key "extra" at layer.config.nodes[0]; expected layer, inputs');
    rejects(edit((c) => (c.inputs = { shape: [-1] })), 'Expected an array of non-negative integers or nulls for layer.config.inputs.shape but received an array of length 1');
    rejects(edit((c) => (c.inputs.name = 5)), 'Expected a string for layer.config.inputs.name but received 5 of type number');
    rejects(edit((c) => (c.nodes = 'all')), 'Expected an array for layer.config.nodes but received "all" of type string');
    rejects(edit((c) => (c.outputs = { node: 0 })), 'Expected the nodes of layer.config in the order the model runs them and its layers in order of first use, each used');
    // Layers must be numbered by first use, or the state dict paths would name other layers.
    rejects(edit((c) => ([c.nodes[0].layer, c.nodes[1].layer] = [1, 0])), 'Expected the nodes of layer.config in the order the model runs them and its layers in order of first use, each used');
    rejects(edit((c) => (c.layers[1].config.layers = [])), 'Invalid config for Sequential at layer.config.layers[1]: Expected a non-empty array of layers for sequential but received an array of length 0');
    // The list of known classes (tested verbatim in test/nn/registry.test.ts) grows with other tests' registrations.
    assert.throws(() => eddy.layerFromConfig(edit((c) => (c.layers[1].config.layers[0].className = 'Eval'))), {
      name: 'FormatError',
      message: /^Unknown layer class "Eval" at layer\.config\.layers\[1\]\.config\.layers\[0\]; known classes: Add, AdditiveAttention, (\w+, )*Tanh\b/,
    });
  });

  it('rejects a Bidirectional config that does not wrap a one-directional recurrent layer', () => {
    const config = { className: 'Bidirectional', config: { layer: { className: 'Linear', config: { inFeatures: 2, outFeatures: 2 } } } };
    assert.throws(() => eddy.layerFromConfig(config), {
      name: 'FormatError',
      message: 'Invalid config for Bidirectional at layer: Expected an RNN, LSTM or GRU with bidirectional: false for layer but received Linear(inFeatures=2, outFeatures=2)',
    });
    const lstm = { className: 'LSTM', config: { inputSize: 2, hiddenSize: 2, projSize: 3 } };
    assert.throws(() => eddy.layerFromConfig(lstm), {
      name: 'FormatError',
      message: 'Invalid config for LSTM at layer: Expected projSize 0 for LSTM but received 3: LSTM with projections is not supported yet',
    });
    assert.throws(() => eddy.layerFromConfig({ className: 'GRU', config: { inputSize: 2, hiddenSize: 2, layerNorms: true } }), {
      name: 'FormatError',
      message: /^Unexpected key "layerNorms" in the config of GRU at layer; expected inputSize, hiddenSize, /,
    });
  });
});
