/**
 * Commands that use a saved model: generate, forecast, info, evaluate;
 * and bench.
 */
import { existsSync } from 'fs';
import * as eddy from '../index';
import { ValidationError } from '../errors';
import { BENCH_CONFIGS } from '../bench/configs';
import { measureRnn } from '../bench/rnn';
import { readColumn } from './inputs';
import { CliMetadata, metadataJson, readMetadata, taskOfMetadata, tokenizerOf } from './metadata';
import type { EvaluateOptions } from './task';
import { loadTask, TASKS } from './train';

async function loadModel(file: string): Promise<{ model: eddy.Sequential; metadata: CliMetadata }> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the model file ${JSON.stringify(file)}`);
  const { model, metadata } = await eddy.loadModelFile(file);
  return { model: model as eddy.Sequential, metadata: readMetadata(metadata) };
}

function needTask(file: string, metadata: CliMetadata, task: string, command: string): void {
  const found = taskOfMetadata(metadata);
  if (found !== task) throw new ValidationError(`Expected a ${task} model (from \`eddy train --task ${task}\`) for \`eddy ${command}\` but ${JSON.stringify(file)} is ${found ? `a ${found} model` : 'not one made by `eddy train`'}`);
}

export async function generateCommand(file: string, o: { prompt: string; length: number; temperature: number; topK?: number; topP?: number; seed?: number }): Promise<void> {
  const { model, metadata } = await loadModel(file);
  needTask(file, metadata, 'text', 'generate');
  const tokenizer = tokenizerOf(metadata);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const it = eddy.text.generate(model, { tokenizer, prompt: o.prompt, length: o.length, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, signal: controller.signal })[Symbol.asyncIterator]();
  // The first piece checks the options: an error then comes before any output.
  let step = await it.next();
  process.stdout.write(o.prompt);
  try {
    for (; !step.done; step = await it.next()) process.stdout.write(step.value);
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  }
  process.stdout.write('\n');
  if (controller.signal.aborted) process.exitCode = 130;
}

export async function forecastCommand(file: string, o: { data: string; steps: number; column?: string }): Promise<void> {
  const { model, metadata } = await loadModel(file);
  needTask(file, metadata, 'forecast', 'forecast');
  const { values, name, time } = await readColumn(o.data, o.column ?? metadata.column);
  const header = `# ${o.steps} steps of ${name} after the last row${time ? ` (${time.at(-1)})` : ''} of ${o.data}`;
  if (metadata.forecaster !== undefined) {
    const { forecasterOf } = await import('./tasks/forecast');
    const history = eddy.timeseries.handleMissing(values, 'interpolate') as number[];
    const { mean, intervals } = await forecasterOf(model, metadata).forecast(history, o.steps);
    const pct = (level: number): string => String(+(level * 100).toFixed(1));
    console.log(`${header}, with prediction intervals`);
    console.log([`step,${name}`, ...intervals.map((i) => `lower${pct(i.level)},upper${pct(i.level)}`)].join(','));
    mean.forEach((v, k) => console.log([k + 1, v.toFixed(4), ...intervals.map((i) => `${i.lower[k].toFixed(4)},${i.upper[k].toFixed(4)}`)].join(',')));
    return;
  }
  // A window model from an earlier version: inputSteps and a scaler.
  const scaler = metadata.scaler === undefined ? undefined : eddy.timeseries.scalerFromJSON(metadataJson(metadata, 'scaler'));
  const forecaster = new eddy.timeseries.Forecaster(model, { inputSteps: Number(metadata.inputSteps), scaler, missing: 'interpolate' });
  const out = (await forecaster.forecast(values, o.steps)) as number[];
  console.log(header);
  console.log(`step,${name}`);
  out.forEach((v, i) => console.log(`${i + 1},${v.toFixed(4)}`));
}

export async function infoCommand(file: string): Promise<void> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the model file ${JSON.stringify(file)}`);
  const info = await eddy.describeModelFile(file);
  const m = readMetadata(info.metadata);
  console.log(`${file}: Eddy ${info.kind}, format version ${info.formatVersion}`);
  console.log(`Parameters: ${info.parameters.toLocaleString('en-US')}`);
  if (m.task) console.log(`Task: ${m.task}`);
  if (m.tokenizer) {
    const t = metadataJson(m, 'tokenizer') as { tokens?: unknown[] } | null;
    if (Array.isArray(t?.tokens)) console.log(`Vocabulary: ${t!.tokens!.length} characters`);
  }
  if (m.inputSteps) console.log(`Input steps: ${m.inputSteps}; column: ${m.column}`);
  if (m.forecaster) {
    const f = metadataJson(m, 'forecaster') as { inputSteps?: number; season?: number; horizon?: number; scaling?: string } | null;
    console.log(`Forecaster: ${f?.inputSteps} lags, season ${f?.season || 'none'}, horizon ${f?.horizon}, ${f?.scaling} changes; column: ${m.column}`);
  }
  console.log('Architecture:');
  console.log(info.architecture.replace(/^/gm, '  '));
  console.log('Tensors:');
  for (const t of info.tensors) console.log(`  ${t.name.padEnd(28)} ${t.dtype} [${t.shape.join(', ')}]`);
}

export async function evaluateCommand(file: string, o: EvaluateOptions): Promise<void> {
  const { model, metadata } = await loadModel(file);
  const task = taskOfMetadata(metadata);
  if (task === undefined || !Object.hasOwn(TASKS, task)) needTask(file, metadata, 'forecast', 'evaluate');
  return (await loadTask(task!)).evaluate(model, metadata, o);
}

export function benchCommand(o: { threads?: number; config?: string[]; ms: number }): void {
  const configs = BENCH_CONFIGS.filter((c) => !o.config || o.config.includes(c.id));
  if (configs.length === 0) throw new ValidationError(`Expected --config to name some of ${BENCH_CONFIGS.map((c) => c.id).join(', ')} but received ${o.config?.join(', ')}`);
  if (o.threads !== undefined) eddy.setNumThreads(o.threads);
  const threads = eddy.getNumThreads();
  console.log(`Eddy recurrent benchmarks, ${threads} thread(s), float32 (tokens = batch × steps)`);
  const row = (a: string, b: string, c: string, d: string, e: string): string => `${a.padEnd(20)} ${b.padEnd(10)} ${c.padStart(12)} ${d.padStart(10)} ${e.padStart(9)}`;
  console.log(row('config', 'mode', 'tokens/s', 'ms/iter', 'GFLOP/s'));
  for (const c of configs) {
    for (const m of measureRnn(c, o.ms, 3)) {
      console.log(row(`${c.id} ${c.name}`, m.mode, Math.round(m.tokensPerSecond).toLocaleString('en-US'), m.msPerIter.toFixed(2), m.gflops.toFixed(1)));
    }
  }
}

export async function exportOnnxCommand(file: string, out: string | undefined, o: { lengths: boolean }): Promise<void> {
  const { model } = await loadModel(file);
  const target = out ?? file.replace(/\.safetensors$/, '') + '.onnx';
  await eddy.onnx.export(model, target, { lengths: o.lengths });
  console.log(`ONNX model written to ${target}`);
}
