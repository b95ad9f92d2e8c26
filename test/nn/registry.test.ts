import * as assert from 'assert';
import * as eddy from '../../lib';
import { Module, Tensor } from '../../lib';

/** A user-defined layer: y = x · factor. */
class Scale extends Module {
  constructor(readonly factor: number) {
    super();
    if (typeof factor !== 'number') throw new TypeError(`factor must be a number, not ${typeof factor}`);
  }

  forward(x: Tensor): Tensor {
    return eddy.mul(x, this.factor);
  }

  toConfig(): { factor: number } {
    return { factor: this.factor };
  }

  toString(): string {
    return `Scale(${this.factor})`;
  }
}

class Unregistered extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }

  toString(): string {
    return 'Unregistered()';
  }
}

class Shift extends Unregistered {
  offset = 2;
}

class NoConfig extends Unregistered {}

class BadConfig extends Unregistered {
  toConfig(): unknown {
    return { when: new Date(0) };
  }
}

const KNOWN = 'Add, AdditiveAttention, Bidirectional, Concatenate, DotAttention, Dropout, Embedding, GELU, GRU, GeneralAttention, GraphModel, LSTM, LayerNorm, Linear, LogSoftmax, MultiHeadAttention, PositionalEncoding, RNN, ReLU, SequencePooling, Sequential, Sigmoid, Softmax, Tanh, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer';

const rejects = (spec: unknown, message: string): void => assert.throws(() => eddy.layerFromConfig(spec), { name: 'FormatError', code: 'ERR_EDDY_FORMAT', message });

describe('layer registry', () => {
  before(() => {
    eddy.registerLayer('test.Scale', { layerClass: Scale, fromConfig: (c) => new Scale(c.factor as number) });
    eddy.registerLayer<Shift>('Shift', { fromConfig: (c) => Object.assign(new Shift(), { offset: c.offset }), toConfig: (l) => ({ offset: l.offset }) });
    eddy.registerLayer('NoConfig', { fromConfig: () => new NoConfig() });
    eddy.registerLayer('BadConfig', { layerClass: BadConfig, fromConfig: () => new BadConfig() });
  });

  it('serializes user layers registered with their class, also inside models', () => {
    assert.deepStrictEqual(eddy.layerToConfig(new Scale(3)), { className: 'test.Scale', config: { factor: 3 } });
    const model = eddy.sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 2 }), new Scale(0.5)]);
    const rebuilt = eddy.layerFromConfig(JSON.parse(JSON.stringify(eddy.layerToConfig(model)))) as eddy.Sequential;
    assert.deepStrictEqual(rebuilt.layers.map(String), ['Linear(inFeatures=2, outFeatures=2)', 'Scale(0.5)']);
    assert.ok(rebuilt.layers[1] instanceof Scale);
  });

  it('uses a registration’s own toConfig, and finds classes by name when no class is given', () => {
    assert.deepStrictEqual(eddy.layerToConfig(new Shift()), { className: 'Shift', config: { offset: 2 } });
    assert.strictEqual((eddy.layerFromConfig({ className: 'Shift', config: { offset: 5 } }) as Shift).offset, 5);
  });

  it('explains what is missing when a layer cannot be serialized', () => {
    assert.throws(() => eddy.layerToConfig(new Unregistered()), {
      name: 'ValidationError',
      message: "No registered layer class for Unregistered(): register it with eddy.registerLayer('Unregistered', { fromConfig })",
    });
    assert.throws(() => eddy.layerToConfig(new NoConfig()), { name: 'ValidationError', message: 'Unregistered() has no toConfig() method and its registration "NoConfig" no toConfig' });
    assert.throws(() => eddy.layerToConfig(new BadConfig()), {
      name: 'ValidationError',
      message: 'Expected a JSON value (null, boolean, finite number, string, array or plain object) for BadConfig config.when but received an instance of Date',
    });
    assert.throws(() => eddy.layerToConfig({} as Module), { name: 'ValidationError', message: 'Expected a layer (a Module) for layer but received an object' });
  });

  it('checks registrations', () => {
    assert.throws(() => eddy.registerLayer('Linear', { fromConfig: () => new Unregistered() }), { name: 'ValidationError', message: 'Layer class "Linear" is already registered' });
    assert.throws(() => eddy.registerLayer('a b', { fromConfig: () => new Unregistered() }), {
      name: 'ValidationError',
      message: 'Expected a class name (letters, digits, _ and .) for className but received "a b" of type string',
    });
    assert.throws(() => eddy.registerLayer('Nothing', {} as never), { name: 'ValidationError', message: 'Expected { fromConfig(config) } for the registration of "Nothing" but received an object' });
  });

  it('returns a fresh plain copy, and builds layers that do not share it', () => {
    const layer = new eddy.LayerNorm({ normalizedShape: [2, 3] });
    const config = eddy.layerToConfig(layer);
    (config.config.normalizedShape as number[]).push(9);
    assert.deepStrictEqual(layer.normalizedShape, [2, 3]);
    const spec = { className: 'LayerNorm', config: { normalizedShape: [4] } };
    const built = eddy.layerFromConfig(spec) as eddy.LayerNorm;
    spec.config.normalizedShape.push(5);
    assert.deepStrictEqual(built.normalizedShape, [4]);
  });

  it('rejects unknown classes and malformed specs with exact messages', () => {
    rejects({ className: 'Exec', config: {} }, `Unknown layer class "Exec" at layer; known classes: ${knownNow()}`);
    rejects({ className: 'toString', config: {} }, `Unknown layer class "toString" at layer; known classes: ${knownNow()}`);
    rejects([], 'Expected an object for layer but received an array of length 0');
    rejects('Linear', 'Expected an object for layer but received "Linear" of type string');
    rejects({ className: 7, config: {} }, 'Expected a string for layer.className but received 7 of type number');
    rejects({ className: 'Linear' }, 'Expected an object for layer.config but received undefined');
    rejects({ className: 'Linear', config: [3, 2] }, 'Expected an object for layer.config but received an array of length 2');
    rejects({ className: 'Linear', config: {}, weights: [] }, 'Unexpected key "weights" at layer; expected className, config');
    rejects({ className: 'Linear', config: { inFeatures: 3, outFeatures: 2, bias: 'yes' } }, 'Invalid config for Linear at layer: Expected boolean for bias but received "yes" of type string');
    rejects({ className: 'Linear', config: { inFeatures: 3, outFeatures: 2, generator: {} } }, 'Invalid config for Linear at layer: Expected an eddy Generator for generator but received an object');
    rejects({ className: 'Dropout', config: { p: 0.1, seed: 3 } }, 'Unexpected key "seed" in the config of Dropout at layer; expected p');
    rejects({ className: 'Tanh', config: { dim: 1 } }, 'Unexpected key "dim" in the config of Tanh at layer; expected no keys');
    rejects({ className: 'test.Scale', config: { factor: 'big' } }, 'Invalid config for test.Scale at layer: factor must be a number, not string');
    rejects({ className: 'Sequential', config: { layers: [{ className: 'Linear', config: { inFeatures: 0, outFeatures: 1 } }] } }, 'Invalid config for Linear at layer.config.layers[0]: Expected positive integer for inFeatures but received 0 of type number');
    rejects({ className: 'Sequential', config: { layers: {} } }, 'Expected an array for layer.config.layers but received an object');
  });

  it('accepts only plain JSON: no functions, class instances, non-finite numbers or endless nesting', () => {
    rejects({ className: 'Linear', config: { inFeatures: () => 3 } }, 'Expected a JSON value (null, boolean, finite number, string, array or plain object) for layer.config.inFeatures but received a function');
    rejects({ className: 'Linear', config: { inFeatures: NaN } }, 'Expected a finite number for layer.config.inFeatures but received NaN of type number');
    rejects({ className: 'Linear', config: { inFeatures: 1n } }, 'Expected a JSON value (null, boolean, finite number, string, array or plain object) for layer.config.inFeatures but received 1 of type bigint');
    rejects({ className: 'LayerNorm', config: { normalizedShape: new Float32Array(2) } }, 'Expected a JSON value (null, boolean, finite number, string, array or plain object) for layer.config.normalizedShape but received Float32Array of length 2');
    rejects({ className: 'Linear', config: { 'a b': undefined } }, 'Expected a JSON value (null, boolean, finite number, string, array or plain object) for layer.config["a b"] but received undefined');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    rejects({ className: 'Linear', config: cyclic }, `Expected at most 64 levels of nesting but layer.config${'.self'.repeat(64)} is deeper`);
    // Deep nesting from a file: a FormatError, not a stack overflow.
    const deep = JSON.parse('{"className":"Linear","config":{"x":' + '['.repeat(100000) + ']'.repeat(100000) + '}}');
    assert.throws(() => eddy.layerFromConfig(deep), { name: 'FormatError', message: /^Expected at most 64 levels of nesting but layer\.config\.x(\[0\]){63} is deeper$/ });
  });

  it('rejects prototype-polluting keys anywhere in a config, and pollutes nothing', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const text = `{"className":"Sequential","config":{"layers":[{"className":"Linear","config":{"inFeatures":2,"outFeatures":2,"nested":{"${key}":{"polluted":true}}}}]}}`;
      rejects(JSON.parse(text), `Forbidden key "${key}" at layer.config.layers[0].config.nested`);
    }
    rejects(JSON.parse('{"__proto__":{"polluted":true},"className":"Tanh","config":{}}'), 'Forbidden key "__proto__" at layer');
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
    assert.strictEqual(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  it('reports errors thrown inside nested fromConfig calls once, at the innermost layer', () => {
    const spec = {
      className: 'Bidirectional',
      config: { layer: { className: 'GRU', config: { inputSize: 2, hiddenSize: -1 } }, mergeMode: 'concat' },
    };
    rejects(spec, 'Invalid config for GRU at layer.config.layer: Expected positive integer for hiddenSize but received -1 of type number');
    rejects({ ...spec, config: { ...spec.config, layer: { className: 'GRU', config: { inputSize: 2, hiddenSize: 2 } }, mergeMode: 'max' } }, `Invalid config for Bidirectional at layer: Expected one of 'concat', 'sum', 'mul', 'ave' for mergeMode but received "max" of type string`);
  });
});

/** Registered names as the registry lists them: sorted, with this file's registrations. */
function knownNow(): string {
  const extra = ['BadConfig', 'NoConfig', 'Shift', 'test.Scale'];
  return [...KNOWN.split(', '), ...extra].sort().join(', ');
}
