/**
 * The bad-input matrix: one row per misuse of the public API, with the
 * exact error class, code and message it must give. Rows are grouped by
 * the part of the API they exercise; CLI rows live in bad-input.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';

/** One row: `run` must throw (or reject with) exactly this error. */
export interface BadInput {
  what: string;
  run: () => unknown;
  error: new (...args: never[]) => eddy.EddyError;
  code: string;
  message: string;
}

/** A scratch directory for the rows that need files; removed by the test's after hook. */
export const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-bad-input-'));
const file = (name: string, content: string | Buffer): string => {
  const p = path.join(scratch, name);
  fs.writeFileSync(p, content);
  return p;
};
const missing = path.join(scratch, 'missing.csv');

const lstm = (): eddy.LSTM => new eddy.LSTM({ inputSize: 2, hiddenSize: 3 });
const params = (): eddy.Parameter[] => new eddy.Linear({ inFeatures: 2, outFeatures: 1 }).parameters();
const xy = (rows: number): { x: eddy.Tensor; y: eddy.Tensor } => ({ x: eddy.zeros([rows, 2]), y: eddy.zeros([rows, 1]) });
const net = (): eddy.Sequential => new eddy.Sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 1 })]);
const fit = (opts: Record<string, unknown>, data: unknown = xy(4)): Promise<unknown> => net().fit(data as eddy.Data, { loss: 'mse', ...opts } as eddy.FitOptions);
const sched = <T>(make: (opt: eddy.optim.SGD) => T): T => make(new eddy.optim.SGD(params(), { lr: 0.1 }));
const detached = (): eddy.Tensor => {
  const data = new Float32Array(4);
  const t = eddy.tensor(data, [4]);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  return t;
};
const any = (v: unknown): never => v as never;

const V = eddy.ValidationError;
const U = eddy.UnknownOptionError;
const S = eddy.ShapeError;
const F = eddy.FormatError;
const P = eddy.ParseError;
const FE = eddy.FileError;
const VAL = 'ERR_EDDY_VALIDATION';

export const CASES: BadInput[] = [
  // Layers: constructor options
  { what: 'LSTM numlayers', run: () => new eddy.LSTM(any({ inputSize: 2, hiddenSize: 3, numlayers: 3 })), error: U, code: VAL, message: 'Expected a known option for options.numlayers but received 3 of type number; did you mean numLayers?' },
  { what: 'LSTM bidirectionnal', run: () => new eddy.LSTM(any({ inputSize: 2, hiddenSize: 3, bidirectionnal: true })), error: U, code: VAL, message: 'Expected a known option for options.bidirectionnal but received true of type boolean; did you mean bidirectional?' },
  { what: 'LSTM batch_first', run: () => new eddy.LSTM(any({ inputSize: 2, hiddenSize: 3, batch_first: true })), error: U, code: VAL, message: 'Expected a known option for options.batch_first but received true of type boolean; did you mean batchFirst?' },
  { what: 'LSTM num_layers', run: () => new eddy.LSTM(any({ inputSize: 2, hiddenSize: 3, num_layers: 2 })), error: U, code: VAL, message: 'Expected a known option for options.num_layers but received 2 of type number; did you mean numLayers?' },
  { what: 'LSTM units (Keras)', run: () => new eddy.LSTM(any({ inputSize: 2, units: 3 })), error: U, code: VAL, message: 'Expected a known option for options.units but received 3 of type number; did you mean hiddenSize?' },
  { what: 'GRU reset_after', run: () => new eddy.GRU(any({ inputSize: 2, hiddenSize: 3, reset_after: false })), error: U, code: VAL, message: 'Expected a known option for options.reset_after but received false of type boolean; did you mean resetAfter?' },
  { what: 'RNN nonlinearity sigmoid', run: () => new eddy.RNN(any({ inputSize: 2, hiddenSize: 3, nonlinearity: 'sigmoid' })), error: V, code: VAL, message: 'Expected one of \'tanh\', \'relu\' for nonlinearity but received "sigmoid" of type string' },
  { what: 'RNN layerNorm', run: () => new eddy.RNN(any({ inputSize: 2, hiddenSize: 3, layerNorm: true })), error: V, code: VAL, message: 'Expected layerNorm only for LSTM and GRU but received it for RNN' },
  { what: 'LSTM inputSize 0', run: () => new eddy.LSTM({ inputSize: 0, hiddenSize: 3 }), error: V, code: VAL, message: 'Expected positive integer for inputSize but received 0 of type number' },
  { what: 'LSTM hiddenSize 1e9', run: () => new eddy.LSTM({ inputSize: 2, hiddenSize: 1e9 }), error: V, code: VAL, message: 'Expected inputSize and hiddenSize whose weights have at most 2147483647 elements each but received inputSize 2 and hiddenSize 1000000000 (4000000000000000000 elements)' },
  { what: 'LSTM numLayers 1025', run: () => new eddy.LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 1025 }), error: V, code: VAL, message: 'Expected integer between 1 and 1024 for numLayers but received 1025 of type number' },
  { what: 'LSTM dropout 1', run: () => new eddy.LSTM({ inputSize: 2, hiddenSize: 3, dropout: 1 }), error: V, code: VAL, message: 'Expected number in [0, 1) for dropout but received 1 of type number' },
  { what: 'LSTM generator 42', run: () => new eddy.LSTM(any({ inputSize: 2, hiddenSize: 3, generator: 42 })), error: V, code: VAL, message: 'Expected an eddy Generator for generator but received 42 of type number' },
  { what: 'LSTM options null', run: () => new eddy.LSTM(any(null)), error: V, code: VAL, message: 'Expected an options object for options but received null' },
  { what: 'LSTM options array', run: () => new eddy.LSTM(any([2, 3])), error: V, code: VAL, message: 'Expected an options object for options but received an array of length 2' },
  { what: 'Linear in_features', run: () => new eddy.Linear(any({ in_features: 2, outFeatures: 1 })), error: U, code: VAL, message: 'Expected a known option for options.in_features but received 2 of type number; did you mean inFeatures?' },
  { what: 'Linear outFeatures -1', run: () => new eddy.Linear({ inFeatures: 2, outFeatures: -1 }), error: V, code: VAL, message: 'Expected positive integer for outFeatures but received -1 of type number' },
  { what: 'Embedding num_embeddings', run: () => new eddy.Embedding(any({ num_embeddings: 5, embeddingDim: 2 })), error: U, code: VAL, message: 'Expected a known option for options.num_embeddings but received 5 of type number; did you mean numEmbeddings?' },
  { what: 'Embedding paddingIdx 9', run: () => new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 2, paddingIdx: 9 }), error: V, code: VAL, message: 'Expected integer between -5 and 4 for paddingIdx but received 9 of type number' },
  { what: 'Dropout p 1.5', run: () => new eddy.Dropout({ p: 1.5 }), error: V, code: VAL, message: 'Expected number between 0 and 1 for p but received 1.5 of type number' },
  { what: 'Dropout rate', run: () => new eddy.Dropout(any({ rate: 0.5 })), error: U, code: VAL, message: 'Expected a known option for options.rate but received 0.5 of type number; known options are p, generator' },
  { what: 'LayerNorm normalized_shape', run: () => new eddy.LayerNorm(any({ normalized_shape: [3] })), error: U, code: VAL, message: 'Expected a known option for options.normalized_shape but received an array of length 1; did you mean normalizedShape?' },
  { what: 'Bidirectional merge_mode', run: () => new eddy.Bidirectional(lstm(), any({ merge_mode: 'sum' })), error: U, code: VAL, message: 'Expected a known option for options.merge_mode but received "sum" of type string; did you mean mergeMode?' },
  { what: 'AdditiveAttention query_size', run: () => new eddy.AdditiveAttention(any({ query_size: 2, keySize: 2, hiddenSize: 2 })), error: U, code: VAL, message: 'Expected a known option for options.query_size but received 2 of type number; did you mean querySize?' },
  { what: 'DotAttention scaled', run: () => new eddy.DotAttention(any({ scaled: true })), error: U, code: VAL, message: 'Expected a known option for options.scaled but received true of type boolean; did you mean scale?' },
  { what: 'SequencePooling median', run: () => new eddy.SequencePooling(any({ mode: 'median' })), error: V, code: VAL, message: 'Expected one of \'last\', \'mean\', \'max\' for mode but received "median" of type string' },
  { what: 'Concatenate dim', run: () => new eddy.Concatenate(any({ dim: 1 })), error: U, code: VAL, message: 'Expected a known option for options.dim but received 1 of type number; known options are axis' },
  // Layers: call options
  { what: 'LSTM forward h_0', run: () => lstm().forward(eddy.zeros([1, 2, 2]), any({ h_0: eddy.zeros([1, 1, 3]) })), error: U, code: VAL, message: 'Expected a known option for state.h_0 but received an instance of Tensor; did you mean h0?' },
  { what: 'LSTM forward initial_state', run: () => lstm().forward(eddy.zeros([1, 2, 2]), any({ initial_state: [] })), error: U, code: VAL, message: 'Expected a known option for state.initial_state but received an array of length 0; known options are h0, c0, lengths' },
  { what: 'LSTM forward rank 2', run: () => lstm().forward(eddy.zeros([2, 2])), error: S, code: 'ERR_EDDY_SHAPE', message: 'Expected input of shape [batch, time, 2] for LSTM(inputSize=2, hiddenSize=3) but received [2, 2]' },
  { what: 'LSTM forward wrong features', run: () => lstm().forward(eddy.zeros([1, 2, 5])), error: S, code: 'ERR_EDDY_SHAPE', message: 'Expected input of shape [batch, time, 2] for LSTM(inputSize=2, hiddenSize=3) but received [1, 2, 5]' },
  { what: 'SequencePooling forward length', run: () => new eddy.SequencePooling({ mode: 'mean' }).forward(eddy.zeros([1, 2, 2]), any({ length: [1] })), error: U, code: VAL, message: 'Expected a known option for options.length but received an array of length 1; did you mean lengths?' },
  // Optimizers and schedules
  { what: 'Adam learningRate', run: () => new eddy.optim.Adam(params(), any({ learningRate: 0.1 })), error: U, code: VAL, message: 'Expected a known option for options.learningRate but received 0.1 of type number; did you mean lr?' },
  { what: 'Adam learning_rate', run: () => new eddy.optim.Adam(params(), any({ learning_rate: 0.1 })), error: U, code: VAL, message: 'Expected a known option for options.learning_rate but received 0.1 of type number; did you mean lr?' },
  { what: 'AdamW weight_decay', run: () => new eddy.optim.AdamW(params(), any({ weight_decay: 0.1 })), error: U, code: VAL, message: 'Expected a known option for options.weight_decay but received 0.1 of type number; did you mean weightDecay?' },
  { what: 'Adagrad lr_decay', run: () => new eddy.optim.Adagrad(params(), any({ lr_decay: 0.1 })), error: U, code: VAL, message: 'Expected a known option for options.lr_decay but received 0.1 of type number; did you mean lrDecay?' },
  { what: 'SGD momentun', run: () => new eddy.optim.SGD(params(), any({ momentun: 0.9 })), error: U, code: VAL, message: 'Expected a known option for options.momentun but received 0.9 of type number; did you mean momentum?' },
  { what: 'SGD lr -1', run: () => new eddy.optim.SGD(params(), { lr: -1 }), error: V, code: VAL, message: 'Expected number >= 0 for lr (in options) but received -1 of type number' },
  { what: 'Adam betas [1, 0]', run: () => new eddy.optim.Adam(params(), { betas: [1, 0] }), error: V, code: VAL, message: 'Expected number in [0, 1) for betas[0] (in options) but received 1 of type number' },
  { what: 'RMSprop group key', run: () => new eddy.optim.RMSprop([{ params: params(), lr: 0.1, decay: 0.9 } as never]), error: U, code: VAL, message: 'Expected a known option for params[0].decay but received 0.9 of type number; known options are lr, alpha, eps, weightDecay, momentum, centered, params' },
  { what: 'Adam params 3', run: () => new eddy.optim.Adam(any(3)), error: V, code: VAL, message: 'Expected an iterable of parameters or parameter groups for params but received 3 of type number' },
  { what: 'Adam no params', run: () => new eddy.optim.Adam([]), error: V, code: VAL, message: 'Expected at least one parameter for Adam but received none' },
  { what: 'clipGradNorm norm_type', run: () => eddy.clipGradNorm(params(), 1, any({ norm_type: 2 })), error: U, code: VAL, message: 'Expected a known option for options.norm_type but received 2 of type number; did you mean normType?' },
  { what: 'StepLR step_size', run: () => sched((o) => new eddy.optim.StepLR(o, any({ step_size: 2 }))), error: U, code: VAL, message: 'Expected a known option for opts.step_size but received 2 of type number; did you mean stepSize?' },
  { what: 'ExponentialLR no gamma', run: () => sched((o) => new eddy.optim.ExponentialLR(o, any({}))), error: V, code: VAL, message: 'Expected number >= 0 for opts.gamma but received undefined' },
  { what: 'CosineAnnealingLR T_max', run: () => sched((o) => new eddy.optim.CosineAnnealingLR(o, any({ T_max: 10 }))), error: U, code: VAL, message: 'Expected a known option for opts.T_max but received 10 of type number; did you mean tMax?' },
  { what: 'ReduceLROnPlateau patience -1', run: () => sched((o) => new eddy.optim.ReduceLROnPlateau(o, { patience: -1 })), error: V, code: VAL, message: 'Expected non-negative integer for opts.patience but received -1 of type number' },
  { what: 'OneCycleLR max_lr', run: () => sched((o) => new eddy.optim.OneCycleLR(o, any({ max_lr: 0.1, totalSteps: 10 }))), error: U, code: VAL, message: 'Expected a known option for opts.max_lr but received 0.1 of type number; did you mean maxLr?' },
  { what: 'LinearLR start_factor', run: () => sched((o) => new eddy.optim.LinearLR(o, any({ start_factor: 0.5 }))), error: U, code: VAL, message: 'Expected a known option for opts.start_factor but received 0.5 of type number; did you mean startFactor?' },
  { what: 'CosineAnnealingWarmRestarts T_0', run: () => sched((o) => new eddy.optim.CosineAnnealingWarmRestarts(o, any({ T_0: 5 }))), error: U, code: VAL, message: 'Expected a known option for opts.T_0 but received 5 of type number; did you mean t0?' },
  // Losses and metrics
  { what: 'crossEntropy negative probabilities', run: () => eddy.losses.crossEntropy(eddy.zeros([1, 3]), eddy.tensor([[-1, 1, 1]])), error: V, code: VAL, message: 'Expected class probabilities in [0, 1] for target of crossEntropy with logits [1, 3] but received -1 at flat index 0' },
  { what: 'crossEntropy ignore_index', run: () => eddy.losses.crossEntropy(eddy.zeros([1, 3]), [0], any({ ignore_index: 0 })), error: U, code: VAL, message: 'Expected a known option for opts.ignore_index but received 0 of type number; did you mean ignoreIndex?' },
  { what: 'crossEntropy class 3 of 3', run: () => eddy.losses.crossEntropy(eddy.zeros([1, 3]), [3]), error: V, code: VAL, message: 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for target but received target[0] = 3' },
  { what: 'mse reduction avg', run: () => eddy.losses.mse(eddy.zeros([2]), eddy.zeros([2]), any({ reduction: 'avg' })), error: V, code: VAL, message: 'Expected one of \'mean\', \'sum\', \'none\' for opts.reduction but received "avg" of type string' },
  { what: 'mse shapes', run: () => eddy.losses.mse(eddy.zeros([2]), eddy.zeros([3])), error: S, code: 'ERR_EDDY_SHAPE', message: 'Expected target of shape [2] (the shape of input) for mse but received [3]' },
  { what: 'huber delt', run: () => eddy.losses.huber(eddy.zeros([2]), eddy.zeros([2]), any({ delt: 1 })), error: U, code: VAL, message: 'Expected a known option for opts.delt but received 1 of type number; did you mean delta?' },
  { what: 'binaryCrossEntropyWithLogits pos_weight', run: () => eddy.losses.binaryCrossEntropyWithLogits(eddy.zeros([2]), eddy.zeros([2]), any({ pos_weight: 2 })), error: U, code: VAL, message: 'Expected a known option for opts.pos_weight but received 2 of type number; did you mean posWeight?' },
  { what: 'accuracy ignoreIndx', run: () => eddy.metrics.accuracy(eddy.zeros([1, 3]), [0], any({ ignoreIndx: 0 })), error: U, code: VAL, message: 'Expected a known option for opts.ignoreIndx but received 0 of type number; did you mean ignoreIndex?' },
  // Tensors and ops
  { what: 'tensor requires_grad', run: () => eddy.tensor([1, 2], undefined, any({ requires_grad: true })), error: U, code: VAL, message: 'Expected a known option for opts.requires_grad but received true of type boolean; did you mean requiresGrad?' },
  { what: 'add on a detached tensor', run: () => detached().add(1), error: V, code: VAL, message: 'Expected a to hold its 4 elements but its ArrayBuffer was detached (transferred or moved by structuredClone)' },
  { what: 'sum of a detached tensor', run: () => detached().sum(), error: V, code: VAL, message: 'Expected t to hold its 4 elements but its ArrayBuffer was detached (transferred or moved by structuredClone)' },
  { what: 'matmul shapes', run: () => eddy.matmul(eddy.zeros([2, 3]), eddy.zeros([2, 3])), error: S, code: 'ERR_EDDY_SHAPE', message: 'Expected b of shape [3, n] for matmul with a of shape [2, 3] but received [2, 3]' },
  { what: 'matmul of a number', run: () => eddy.matmul(any(2), eddy.zeros([2, 3])), error: V, code: VAL, message: 'Expected Tensor for a but received 2 of type number' },
  { what: 'tensor of strings', run: () => eddy.tensor(any(['a', 'b'])), error: V, code: VAL, message: 'Expected number for data[0] but received "a" of type string' },
  { what: 'backward retain_graph', run: () => eddy.tensor([1], undefined, { requiresGrad: true }).sum().backward(undefined, any({ retain_graph: true })), error: U, code: VAL, message: 'Expected a known option for opts.retain_graph but received true of type boolean; did you mean retainGraph?' },
  // Models: fit, evaluate, predict, callbacks
  { what: 'fit epoch', run: () => fit({ epoch: 3 }), error: U, code: VAL, message: 'Expected a known option for options.epoch but received 3 of type number; did you mean epochs?' },
  { what: 'fit batch_size', run: () => fit({ batch_size: 64 }), error: U, code: VAL, message: 'Expected a known option for options.batch_size but received 64 of type number; did you mean batchSize?' },
  { what: 'fit validation_split', run: () => fit({ validation_split: 0.1 }), error: U, code: VAL, message: 'Expected a known option for options.validation_split but received 0.1 of type number; did you mean validationSplit?' },
  { what: 'fit callback', run: () => fit({ callback: [] }), error: U, code: VAL, message: 'Expected a known option for options.callback but received an array of length 0; did you mean callbacks?' },
  { what: 'fit validationSplit 1', run: () => fit({ validationSplit: 1 }), error: V, code: VAL, message: 'Expected number in [0, 1) for validationSplit but received 1 of type number' },
  { what: 'fit validationSplit of a dataset', run: () => fit({ validationSplit: 0.5 }, [xy(2)]), error: V, code: VAL, message: 'Expected tensor data ({ x, y }) for validationSplit but received an array of length 1; split a dataset with dataset.split()' },
  { what: 'fit validationSplit and validationData', run: () => fit({ validationSplit: 0.5, validationData: xy(2) }), error: V, code: VAL, message: 'Expected validationData or validationSplit but received both' },
  { what: 'fit validationSplit leaving nothing', run: () => fit({ validationSplit: 0.5 }, xy(1)), error: V, code: VAL, message: 'Expected validationSplit to leave rows for both training and validation but 0.5 of 1 rows gives 0 and 1' },
  { what: 'fit on zero rows', run: () => fit({}, xy(0)), error: V, code: VAL, message: 'Expected at least one row for data but received 0' },
  { what: 'fit on no batches', run: () => fit({}, []), error: V, code: VAL, message: 'Expected at least one batch from data in epoch 0 but received none' },
  { what: 'fit loss name', run: () => fit({ loss: 'crossentropy' }), error: V, code: VAL, message: 'Expected one of \'mse\', \'mae\', \'huber\', \'crossEntropy\', \'binaryCrossEntropy\' for loss but received "crossentropy" of type string' },
  { what: 'fit rows differ', run: () => fit({}, { x: eddy.zeros([4, 2]), y: eddy.zeros([3, 1]) }), error: S, code: 'ERR_EDDY_SHAPE', message: 'Expected data.y to have 4 rows (the first axis) like data.x but received shape [3, 1]' },
  { what: 'fit EarlyStopping on valLoss without validation', run: () => fit({ epochs: 2, callbacks: new eddy.EarlyStopping({ monitor: 'valLoss' }) }), error: V, code: VAL, message: 'Expected monitor of EarlyStopping to name a logged value (loss) but received "valLoss"' },
  { what: 'fit EarlyStopping on val_loss', run: () => fit({ epochs: 2, validationSplit: 0.5, callbacks: new eddy.EarlyStopping({ monitor: 'val_loss' }) }), error: V, code: VAL, message: 'Expected monitor of EarlyStopping to name a logged value (loss, valLoss) but received "val_loss"; did you mean valLoss?' },
  { what: 'EarlyStopping min_delta', run: () => new eddy.EarlyStopping(any({ min_delta: 0.1 })), error: U, code: VAL, message: 'Expected a known option for options.min_delta but received 0.1 of type number; did you mean minDelta?' },
  { what: 'ModelCheckpoint keep_last', run: () => new eddy.ModelCheckpoint(any({ directory: scratch, keep_last: 2 })), error: U, code: VAL, message: 'Expected a known option for options.keep_last but received 2 of type number; did you mean keepLast?' },
  { what: 'evaluate batch_size', run: () => net().evaluate(xy(2), any({ loss: 'mse', batch_size: 2 })), error: U, code: VAL, message: 'Expected a known option for options.batch_size but received 2 of type number; did you mean batchSize?' },
  { what: 'predict batchsize', run: () => net().predict(eddy.zeros([2, 2]), any({ batchsize: 2 })), error: U, code: VAL, message: 'Expected a known option for options.batchsize but received 2 of type number; did you mean batchSize?' },
  { what: 'input shap', run: () => eddy.input(any({ shape: [2], shap: [2] })), error: U, code: VAL, message: 'Expected a known option for options.shap but received an array of length 1; did you mean shape?' },
  { what: 'model name', run: () => { const i = eddy.input({ shape: [2] }); return eddy.model(any({ inputs: i, outputs: i, name: 'm' })); }, error: U, code: VAL, message: 'Expected a known option for options.name but received "m" of type string; known options are inputs, outputs' },
  { what: 'tune strategie', run: () => eddy.tune(any({ space: { a: [1] }, objective: () => 0, strategie: 'grid' })), error: U, code: VAL, message: 'Expected a known option for options.strategie but received "grid" of type string; did you mean strategy?' },
  // Data sources and datasets
  { what: 'fromCsv of a missing file', run: () => eddy.data.fromCsv(missing).toArray(), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}/missing.csv": no such file or directory (ENOENT)` },
  { what: 'fromText of a directory', run: () => eddy.data.fromText(scratch).toArray(), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}": illegal operation on a directory (EISDIR)` },
  { what: 'fromCsv max_line_length', run: () => eddy.data.fromCsv(missing, any({ max_line_length: 10 })), error: U, code: VAL, message: 'Expected a known option for options.max_line_length but received 10 of type number; did you mean maxLineLength?' },
  { what: 'fromCsv line over maxLineLength', run: () => eddy.data.fromCsv(file('long.csv', `a,b\n1,${'x'.repeat(200)}\n`), { maxLineLength: 64 }).toArray(), error: P, code: 'ERR_EDDY_FORMAT', message: `Invalid CSV in ${scratch}/long.csv at line 2, column 2: Expected records of at most 64 bytes (maxLineLength) but received a longer one (an unclosed quote?)` },
  { what: 'fromText line over maxLineLength', run: () => eddy.data.fromText(file('long.txt', `${'x'.repeat(200)}\n`), { maxLineLength: 64 }).toArray(), error: P, code: 'ERR_EDDY_FORMAT', message: `Invalid text in ${scratch}/long.txt at line 1, column 1: Expected lines of at most 64 bytes (maxLineLength) but line 1 is longer` },
  { what: 'fromJsonl bad JSON', run: () => eddy.data.fromJsonl(file('bad.jsonl', '{"a": 1}\n{"a": \n')).toArray(), error: P, code: 'ERR_EDDY_FORMAT', message: `Invalid JSON in ${scratch}/bad.jsonl at line 2, column 7: Unexpected end of JSON input` },
  { what: 'fromCsv huge field in a message', run: () => eddy.data.fromCsv(file('huge.csv', `${'x'.repeat(5000)},${'x'.repeat(5000)}\n1,2\n`), { columns: true }).toArray(), error: P, code: 'ERR_EDDY_FORMAT', message: `Invalid CSV in ${scratch}/huge.csv at line 1, column 2: Expected a unique, non-empty column name in the header but received "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (5000 characters) (the name of column 1)` },
  { what: 'batch 0', run: () => eddy.data.fromArray([1, 2]).batch(0), error: V, code: VAL, message: 'Expected positive integer for size but received 0 of type number' },
  { what: 'batch drop_remainder', run: () => eddy.data.fromArray([1, 2]).batch(1, any({ drop_remainder: true })), error: U, code: VAL, message: 'Expected a known option for options.drop_remainder but received true of type boolean; did you mean dropRemainder?' },
  { what: 'shuffle reshuffle', run: () => eddy.data.fromArray([1, 2]).shuffle(2, any({ reshuffle: true })), error: U, code: VAL, message: 'Expected a known option for options.reshuffle but received true of type boolean; known options are seed, reshuffleEachIteration' },
  { what: 'split validationSplit', run: () => eddy.data.fromArray([1, 2]).split(any({ validationSplit: 0.5 })), error: U, code: VAL, message: 'Expected a known option for options.validationSplit but received 0.5 of type number; known options are validation, seed' },
  // Files: models, checkpoints, ONNX
  { what: 'load a missing file', run: () => eddy.load(missing), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}/missing.csv": no such file or directory (ENOENT)` },
  { what: 'load a directory', run: () => eddy.load(scratch), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}": illegal operation on a directory (EISDIR)` },
  { what: 'load a text file', run: () => eddy.load(file('notes.txt', 'hello, world, this is not a model file')), error: F, code: 'ERR_EDDY_FORMAT', message: `Header of "${scratch}/notes.txt" claims 8583909746840200552 bytes, more than the limit of 100000000: refusing to read it` },
  { what: 'save meta', run: () => eddy.save(net(), path.join(scratch, 'm.safetensors'), any({ meta: {} })), error: U, code: VAL, message: 'Expected a known option for options.meta but received an object; known options are metadata' },
  { what: 'saveCheckpoint optimiser', run: () => eddy.saveCheckpoint(path.join(scratch, 'c.safetensors'), any({ model: net(), optimiser: null })), error: U, code: VAL, message: 'Expected a known option for state.optimiser but received null; did you mean optimizer?' },
  { what: 'loadCheckpoint into generator', run: () => eddy.loadCheckpoint(missing, any({ generator: null })), error: U, code: VAL, message: 'Expected a known option for into.generator but received null; known options are model, optimizer, rng, scheduler, restoreGlobalRng, skipMissingRng' },
  { what: 'toOnnx opset_version', run: () => eddy.onnx.toOnnx(net(), any({ opset_version: 17 })), error: U, code: VAL, message: 'Expected a known option for opts.opset_version but received 17 of type number; known options are inputSize, lengths, opset' },
  // Text and time-series kits
  { what: 'CharTokenizer min_frequency', run: () => eddy.text.CharTokenizer.fromTexts('abc', any({ min_frequency: 2 })), error: U, code: VAL, message: 'Expected a known option for options.min_frequency but received 2 of type number; did you mean minFrequency?' },
  { what: 'nextTokenData sequence_length', run: () => eddy.text.nextTokenData([1, 2, 3], any({ sequence_length: 2 })), error: U, code: VAL, message: 'Expected a known option for options.sequence_length but received 2 of type number; did you mean sequenceLength?' },
  { what: 'sampleLogits temprature', run: () => eddy.text.sampleLogits([0, 1], any({ temprature: 1 })), error: U, code: VAL, message: 'Expected a known option for options.temprature but received 1 of type number; did you mean temperature?' },
  { what: 'readLabeledCsv of a missing file', run: () => eddy.text.readLabeledCsv(missing), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}/missing.csv": no such file or directory (ENOENT)` },
  { what: 'readSeriesCsv of a missing file', run: () => eddy.timeseries.readSeriesCsv(missing), error: FE, code: 'ERR_EDDY_FILE', message: `Cannot read "${scratch}/missing.csv": no such file or directory (ENOENT)` },
  { what: 'windows input_steps', run: () => eddy.timeseries.windows([1, 2, 3, 4], any({ input_steps: 2, horizon: 1 })), error: U, code: VAL, message: 'Expected a known option for options.input_steps but received 2 of type number; did you mean inputSteps?' },
  { what: 'MinMaxScaler feature_range', run: () => new eddy.timeseries.MinMaxScaler(any({ feature_range: [0, 1] })), error: U, code: VAL, message: 'Expected a known option for options.feature_range but received an array of length 2; did you mean featureRange?' },
];
