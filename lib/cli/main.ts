#!/usr/bin/env node
/**
 * The `eddy` command line: train, generate, forecast, evaluate, info, bench.
 * Every user error ends as one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { EddyError, ValidationError } from '../errors';
import { DEFAULT_OUT, parseNumber, readConfigFile, TRAIN_KEYS, TrainConfig } from './config';
import { TASKS, taskHelp, train } from './train';

const num = parseNumber;

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('eddy')
    .description('Recurrent neural networks for Node.js on native kernels')
    .version(require('../../../package.json').version as string)
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', examples(['eddy train', 'eddy generate eddy-run/model.safetensors --prompt "It is a truth" --length 300', 'eddy train --task forecast --data examples/data/co2.csv --column co2', 'eddy <command> --help']));

  program
    .command('train')
    .description('train a model: with no options, a character-level LSTM on the bundled Jane Austen text (about 2 minutes on 2 cores)')
    .addOption(new Option('--task <task>', taskHelp()).choices(Object.keys(TASKS)))
    .option('--data <file>', 'training data: a text file (text), a CSV with a time column (forecast), a CSV/JSONL of labelled texts (classify) [default: bundled Austen text / co2.csv]')
    .option('--column <name>', 'forecast: the CSV column to forecast [default: the first value column]')
    .addOption(new Option('--cell <cell>', 'recurrent cell (text, classify) [default: lstm]').choices(['lstm', 'gru', 'rnn']))
    .option('--hidden <n>', 'hidden units (forecast: of each network in the ensemble) [default: 256 text, 32 forecast]', num('hidden'))
    .option('--layers <n>', 'stacked recurrent layers [default: 1]', num('layers'))
    .option('--bidirectional', 'bidirectional recurrent layers (classify only)')
    .option('--seq-len <n>', 'characters per training sequence (text) or rows of history per window (forecast) [default: 100 / the season + 1, at most 52]', num('seq-len'))
    .option('--batch-size <n>', 'sequences (forecast: windows) per batch [default: 32 / about 32 batches an epoch]', num('batch-size'))
    .option('--epochs <n>', 'passes over the data (forecast: at most, with early stopping) [default: 7 / 300]', num('epochs'))
    .option('--lr <rate>', 'learning rate [default: 0.005 / 0.003]', num('lr'))
    .addOption(new Option('--optimizer <name>', 'optimizer [default: adam]').choices(['adam', 'adamw', 'sgd', 'rmsprop', 'adagrad']))
    .option('--clip-norm <x>', 'clip the gradient norm to this (0: off) [default: 5]', num('clip-norm'))
    .option('--dropout <p>', 'dropout before the output layer and between layers [default: 0]', num('dropout'))
    .option('--embedding <n>', 'text: embedding width [default: 64]', num('embedding'))
    .option('--threads <n>', 'native threads [default: EDDY_NUM_THREADS or all cores; with --distributed, the cores over the ranks on the machine]', num('threads'))
    .option('--distributed', 'data-parallel training over MPI: start with `mpirun -np N eddy train --distributed …`; rank 0 prints and writes the files')
    .option('--seed <n>', 'random seed [default: 42]', num('seed'))
    .option('--out <dir>', 'where model.safetensors, report.html and checkpoints go [default: eddy-run]')
    .option('--resume [checkpoint]', 'continue an interrupted run from its checkpoint [default: <out>/checkpoint.safetensors]')
    .option('--config <file.json>', 'read options from a JSON file (camelCase keys, e.g. {"seqLen": 64}); flags override it')
    .option('--max-chars <n>', 'text: use only the first n characters of the data (quick runs)', num('max-chars'))
    .option('--test-size <n>', 'forecast: rows held out at the end for scoring [default: 104]', num('test-size'))
    .option('--season <n>', 'forecast: seasonal period (the model\'s seasonal features and the seasonal-naive baseline), 0 for none [default: 52]', num('season'))
    .option('--horizon <n>', 'forecast: steps predicted at once, and the length of the multi-step evaluation [default: 1]', num('horizon'))
    .option('--sample-length <n>', 'text: characters of sample printed at the end [default: 300]', num('sample-length'))
    .option('--prompt <text>', 'text: the sample\'s prompt [default: "It is a truth"]')
    .addHelpText('after', examples([
      'eddy train                                   # LSTM on Northanger Abbey, ~2 min',
      'eddy train --cell gru --hidden 128 --epochs 2 --out runs/gru',
      'eddy train --resume eddy-run/checkpoint.safetensors   # after Ctrl-C',
      'eddy train --task forecast --data examples/data/co2.csv --column co2',
      'eddy train --task forecast --data examples/data/airpassengers.csv --season 12 --test-size 24 --horizon 12',
      'eddy train --task classify                   # dialogue vs narration, from the bundled novel',
      'eddy train --task classify --data reviews.csv   # columns text,label',
      'eddy train --config settings.json --epochs 10',
      'mpirun -np 2 eddy train --distributed        # two processes, one model (as root: mpirun --allow-run-as-root)',
    ]) + '\nCtrl-C saves a checkpoint; --resume continues from it.\n')
    .action(async (opts: Record<string, unknown>) => {
      const given: Partial<TrainConfig> = {};
      for (const k of TRAIN_KEYS) if (opts[k] !== undefined) (given as Record<string, unknown>)[k] = opts[k];
      if (opts.resume !== undefined) {
        // A resumed run keeps the checkpoint's settings: say so rather than ignore a flag.
        const changeable = ['epochs', 'out', 'threads', 'distributed', 'sampleLength', 'prompt'];
        const fixed = Object.keys(given).filter((k) => !changeable.includes(k));
        if (fixed.length > 0 || opts.config !== undefined) {
          const names = [...fixed, ...(opts.config !== undefined ? ['config'] : [])].map((k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
          throw new ValidationError(`--resume continues with the checkpoint's settings; only --epochs, --out, --threads, --distributed, --sample-length and --prompt may change (received ${names.join(', ')})`);
        }
        const file = typeof opts.resume === 'string' ? opts.resume : `${given.out ?? DEFAULT_OUT}/checkpoint.safetensors`;
        const { resumeConfig } = await import('./run');
        const { config, resumed } = await resumeConfig(file);
        // The checkpoint's settings, except how long to train, where to write, threads and the sample.
        const c = { ...config } as TrainConfig;
        for (const k of changeable) if ((given as Record<string, unknown>)[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = (given as Record<string, unknown>)[k];
        return train(c, resumed);
      }
      const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
      return train({ ...file, ...given, task: given.task ?? file.task ?? 'text' });
    });

  program
    .command('generate')
    .description('stream text from a model made by `eddy train` (task text)')
    .argument('<model>', 'model file (.safetensors)')
    .option('--prompt <text>', 'text to continue', 'It is a truth')
    .option('--length <n>', 'characters to generate', num('length'), 300)
    .option('--temperature <t>', 'sampling temperature (0: always the most likely)', num('temperature'), 0.8)
    .option('--top-k <k>', 'sample from the k most likely characters only', num('top-k'))
    .option('--top-p <p>', 'nucleus sampling threshold', num('top-p'))
    .option('--seed <n>', 'seed for reproducible samples', num('seed'))
    .addHelpText('after', examples(['eddy generate eddy-run/model.safetensors --prompt "It is a truth" --length 300 --temperature 0.8']))
    .action(async (model: string, opts) => (await import('./models')).generateCommand(model, opts));

  program
    .command('forecast')
    .description('forecast the steps after the end of a series with a model made by `eddy train --task forecast`')
    .argument('<model>', 'model file (.safetensors)')
    .requiredOption('--data <file.csv>', 'the series (CSV with a time column); the forecast starts after its last row')
    .option('--steps <n>', 'steps to forecast', num('steps'), 52)
    .option('--column <name>', 'column to read [default: the one the model was trained on]')
    .addHelpText('after', examples(['eddy forecast eddy-run/model.safetensors --data examples/data/co2.csv --steps 52']))
    .action(async (model: string, opts) => (await import('./models')).forecastCommand(model, opts));

  program
    .command('evaluate')
    .description('score a saved model on data: bits per character (text), error vs naive baselines (forecast) or accuracy (classify)')
    .argument('<model>', 'model file (.safetensors)')
    .option('--data <file>', 'text file, CSV series, or labelled CSV/JSONL')
    .option('--seq-len <n>', 'text: characters per evaluated sequence', num('seq-len'), 100)
    .option('--max-chars <n>', 'text: only the first n characters', num('max-chars'))
    .option('--test-size <n>', 'forecast: rows at the end to score', num('test-size'), 104)
    .option('--season <n>', 'forecast: seasonal-naive period (0: none)', num('season'), 52)
    .option('--column <name>', 'forecast: column [default: the one the model was trained on]')
    .addHelpText('after', examples(['eddy evaluate eddy-run/model.safetensors --data examples/data/austen-northanger-abbey.txt', 'eddy evaluate co2-run/model.safetensors --data examples/data/co2.csv']))
    .action(async (model: string, opts) => (await import('./models')).evaluateCommand(model, opts));

  program
    .command('info')
    .description('describe a model file (architecture, parameters, metadata); without one, the native runtime')
    .argument('[model]', 'model or checkpoint file (.safetensors)')
    .addHelpText('after', examples(['eddy info', 'eddy info eddy-run/model.safetensors']))
    .action(async (model?: string) => {
      if (model !== undefined) return (await import('./models')).infoCommand(model);
      const eddy = await import('../index');
      const info = eddy.runtimeInfo();
      console.log(`eddy-rnn ${program.version()}`);
      console.log(`BLAS:     ${info.blasConfig}`);
      console.log(`CPU:      ${info.blasCore} kernel${info.avx2 ? ', AVX2+FMA' : ''}, ${info.hardwareThreads} hardware threads`);
      console.log(`Threads:  ${info.numThreads} (set EDDY_NUM_THREADS to change)`);
    });

  program
    .command('export-onnx')
    .description('write a saved model as ONNX for onnxruntime and other runtimes (inputs: input [batch, time, …], lengths [batch])')
    .argument('<model>', 'model file (.safetensors)')
    .argument('[out]', 'ONNX file to write [default: the model file with .onnx]')
    .option('--no-lengths', 'leave out the lengths input (every sequence runs all steps)')
    .addHelpText('after', examples(['eddy export-onnx eddy-run/model.safetensors', 'eddy export-onnx co2-run/model.safetensors co2.onnx']))
    .action(async (model: string, out: string | undefined, opts: { lengths: boolean }) => (await import('./models')).exportOnnxCommand(model, out, opts));

  program
    .command('serve')
    .description('answer HTTP requests with a model file: POST /predict, and /generate, /forecast or /classify for models of those tasks')
    .argument('<model>', 'model file (.safetensors)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', num('port'), 8080)
    .option('--max-body <bytes>', 'largest request body', num('max-body'), 1048576)
    .option('--timeout <ms>', 'time for a whole request', num('timeout'), 30000)
    .option('--max-batch <n>', 'most requests per batch', num('max-batch'), 32)
    .option('--max-delay <ms>', 'how long a request waits for others to batch with (0: a batch takes what arrived in the same turn of the event loop)', num('max-delay'), 0)
    .option('--max-queue <n>', 'most requests waiting; more get 429', num('max-queue'), 1024)
    .addHelpText('after', examples(['eddy serve eddy-run/model.safetensors', 'eddy serve co2-run/model.safetensors --port 9000', "curl -s localhost:8080/forecast -d '{\"history\": [1, 2, 3], \"steps\": 4}'"]))
    .action(async (model: string, opts: { host: string; port: number; maxBody: number; timeout: number; maxBatch: number; maxDelay: number; maxQueue: number }) =>
      (await import('./serve')).serveCommand(model, { host: opts.host, port: opts.port, maxBodyBytes: opts.maxBody, timeoutMs: opts.timeout, maxBatch: opts.maxBatch, maxDelayMs: opts.maxDelay, maxQueue: opts.maxQueue }),
    );

  program
    .command('bench')
    .description('time the recurrent layers on the benchmark configurations C1–C5 and print tokens/s and GFLOP/s')
    .option('--threads <n>', 'native threads [default: all cores]', num('threads'))
    .option('--config <ids...>', 'only these configurations (C1 … C5)')
    .option('--ms <n>', 'milliseconds per timing sample', num('ms'), 300)
    .addHelpText('after', examples(['eddy bench', 'eddy bench --config C1 C4 --threads 1']))
    .action(async (opts) => (await import('./models')).benchCommand(opts));

  program
    .command('demo')
    .description('multiply two random matrices on the native kernels and report the rate')
    .option('-n, --size <n>', 'matrix size', num('size'), 1024)
    .action(async (opts: { size: number }) => {
      const eddy = await import('../index');
      const n = opts.size;
      if (!Number.isInteger(n) || n < 1 || n > 8192) throw new eddy.ValidationError(`Expected integer between 1 and 8192 for --size but received ${n}`);
      const a = eddy.tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n]);
      const b = eddy.tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n]);
      await eddy.matmulAsync(a, b);
      const t0 = performance.now();
      const c = await eddy.matmulAsync(a, b);
      const ms = performance.now() - t0;
      console.log(`matmul [${n}, ${n}] × [${n}, ${n}] on ${eddy.getNumThreads()} threads: ${ms.toFixed(1)} ms, ${((2 * n ** 3) / (ms * 1e6)).toFixed(1)} GFLOP/s`);
      console.log(`c[0][0] = ${c.get(0, 0).toFixed(6)}`);
    });

  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has printed its one line (or the help / version) already; a
    // usage error (unknown flag, missing or invalid value) exits 2, as in POSIX tools.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  }
  if (process.env.EDDY_DEBUG) console.error(err);
  else if (err instanceof EddyError) console.error(`eddy: ${err.message}`);
  else if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).path === 'string') console.error(`eddy: ${err.message}`);
  else console.error(`eddy: unexpected error: ${err instanceof Error ? err.message : String(err)} (set EDDY_DEBUG=1 for the stack trace)`);
  // Flags and --config values the checks refuse are usage errors too.
  process.exitCode = err instanceof ValidationError ? 2 : 1;
});
