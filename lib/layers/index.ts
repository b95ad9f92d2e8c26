/**
 * Every built-in layer. Each layer file registers its class with the layer
 * registry when it loads, so importing this module makes
 * `layerFromConfig` know them all (the model-file reader relies on it).
 */
export * from './activations';
export * from './attention';
export * from './bidirectional';
export * from './dropout';
export * from './embedding';
export * from './layer-norm';
export * from './linear';
export * from './merge';
export * from './multi-head-attention';
export * from './pooling';
export * from './positional-encoding';
export * from './recurrent';
export * from './transformer';
export * from './transformer-decoder';
