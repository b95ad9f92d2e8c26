/**
 * Registers every built-in layer and model with the layer registry, so
 * `eddy.layerFromConfig(eddy.layerToConfig(model))` rebuilds any model made
 * of Eddy's layers (with fresh weights; load the state dict after).
 */
import { Add, Concatenate } from '../layers/merge';
import { GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from '../layers/activations';
import { AdditiveAttention, DotAttention, GeneralAttention } from '../layers/attention';
import { Bidirectional } from '../layers/bidirectional';
import { Dropout } from '../layers/dropout';
import { Embedding } from '../layers/embedding';
import { LayerNorm } from '../layers/layer-norm';
import { Linear } from '../layers/linear';
import { SequencePooling } from '../layers/pooling';
import { GRU, GRUOptions, LSTM, LSTMOptions, RNN, RNNOptions } from '../layers/recurrent';
import { ConfigObject, registerLayer } from '../nn/registry';
import { GraphModel } from './functional';
import { Sequential } from './sequential';

export { layerFromConfig, layerToConfig, registerLayer } from '../nn/registry';
export type { ConfigObject, ConfigValue, LayerConfig, LayerRegistration } from '../nn/registry';

// The configs reaching fromConfig are plain JSON; each constructor checks
// its options' types and values, so the casts below only name the shapes.
registerLayer('Linear', { layerClass: Linear, fromConfig: (c) => Linear.fromConfig(c as never) });
registerLayer('Embedding', { layerClass: Embedding, fromConfig: (c) => Embedding.fromConfig(c as never) });
registerLayer('Dropout', { layerClass: Dropout, fromConfig: (c) => Dropout.fromConfig(c as never) });
registerLayer('Concatenate', { layerClass: Concatenate, fromConfig: (c) => Concatenate.fromConfig(c as never) });
registerLayer('Add', { layerClass: Add, fromConfig: () => Add.fromConfig() });
registerLayer('LayerNorm', { layerClass: LayerNorm, fromConfig: (c) => LayerNorm.fromConfig(c as never) });
registerLayer('Tanh', { layerClass: Tanh, fromConfig: () => Tanh.fromConfig() });
registerLayer('Sigmoid', { layerClass: Sigmoid, fromConfig: () => Sigmoid.fromConfig() });
registerLayer('ReLU', { layerClass: ReLU, fromConfig: () => ReLU.fromConfig() });
registerLayer('GELU', { layerClass: GELU, fromConfig: () => GELU.fromConfig() });
registerLayer('Softmax', { layerClass: Softmax, fromConfig: (c) => Softmax.fromConfig(c as never) });
registerLayer('LogSoftmax', { layerClass: LogSoftmax, fromConfig: (c) => LogSoftmax.fromConfig(c as never) });
registerLayer('AdditiveAttention', { layerClass: AdditiveAttention, fromConfig: (c) => AdditiveAttention.fromConfig(c as never) });
registerLayer('DotAttention', { layerClass: DotAttention, fromConfig: (c) => DotAttention.fromConfig(c as never) });
registerLayer('GeneralAttention', { layerClass: GeneralAttention, fromConfig: (c) => GeneralAttention.fromConfig(c as never) });
registerLayer('SequencePooling', { layerClass: SequencePooling, fromConfig: (c) => SequencePooling.fromConfig(c as never) });
registerLayer('Bidirectional', { layerClass: Bidirectional, fromConfig: (c, path) => Bidirectional.fromConfig(c, path) });
registerLayer('Sequential', { layerClass: Sequential, fromConfig: (c, path) => Sequential.fromConfig(c, path) });
registerLayer('GraphModel', { layerClass: GraphModel, fromConfig: (c, path) => GraphModel.fromConfig(c, path) });

/** A recurrent layer's constructor options (its own toConfig()). */
function recurrentConfig(layer: RNN | LSTM | GRU): ConfigObject {
  return layer.toConfig();
}

registerLayer<RNN>('RNN', { layerClass: RNN, fromConfig: (c) => new RNN(c as unknown as RNNOptions), toConfig: recurrentConfig });
registerLayer<LSTM>('LSTM', { layerClass: LSTM, fromConfig: (c) => new LSTM(c as unknown as LSTMOptions), toConfig: recurrentConfig });
registerLayer<GRU>('GRU', { layerClass: GRU, fromConfig: (c) => new GRU(c as unknown as GRUOptions), toConfig: recurrentConfig });
