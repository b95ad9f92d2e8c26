/**
 * The `eddy` command line, run as a child process on tiny settings: exit
 * codes, files written, streaming generation, one line per epoch without a
 * TTY, one-line errors, and Ctrl-C → checkpoint → --resume.
 */
import * as assert from 'assert';
import { spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as lib from '../../lib';

const MAIN = path.resolve(__dirname, '../../lib/cli/main.js');
const DATA = path.resolve(__dirname, '../../../examples/data');
const TINY = ['--epochs', '1', '--hidden', '16', '--seq-len', '32', '--max-chars', '20000', '--sample-length', '40', '--threads', '1'];

function eddy(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, EDDY_DEBUG: '' } });
}

/** Rewrites a .safetensors file's metadata (the header only: tensor offsets are relative to the data, which stays as it is). */
function rewriteMetadata(file: string, edit: (m: Record<string, string>) => Record<string, string>): void {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as { __metadata__: Record<string, string> };
  header.__metadata__ = edit(header.__metadata__);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(file, Buffer.concat([length, Buffer.from(json), bytes.subarray(8 + n)]));
}

function assertOneLineError(r: SpawnSyncReturns<string>, pattern: RegExp): void {
  assert.notStrictEqual(r.status, 0, `expected a non-zero exit, stdout: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.strictEqual(lines.length, 1, `expected one line on stderr but received:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('eddy CLI', function () {
  let dir: string;
  let model: string;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-cli-'));
    const r = eddy(['train', ...TINY, '--out', 'run'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    this.trainStdout = r.stdout;
    model = path.join(dir, 'run', 'model.safetensors');
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('train writes the model and an HTML report with SVG charts, and prints a sample and the paths', function () {
    const out = this.trainStdout as string;
    assert.ok(fs.statSync(model).size > 1000);
    const html = fs.readFileSync(path.join(dir, 'run', 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /<polyline|<path/);
    assert.match(out, /Sample/);
    assert.match(out, /It is a truth/);
    assert.match(out, /Model saved to run[/\\]model\.safetensors/);
    assert.match(out, /Report saved to run[/\\]report\.html/);
  });

  it('prints one plain line per epoch when stdout is not a TTY', function () {
    const r = eddy(['train', ...TINY, '--epochs', '2', '--out', 'two'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^epoch \d+\/2/.test(l));
    assert.deepStrictEqual(lines.map((l) => l.slice(0, 9)), ['epoch 1/2', 'epoch 2/2']);
    assert.match(lines[0], /loss \d+\.\d+, val_loss \d+\.\d+, .* tok\/s/);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'no terminal escapes');
  });

  it('--config reads options from a JSON file and flags override it', function () {
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ hidden: 8, cell: 'gru', epochs: 5, seqLen: 32, maxChars: 20000, sampleLength: 10 }));
    const r = eddy(['train', '--config', 'settings.json', '--epochs', '1', '--out', 'cfg'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^epoch 1\/1/m);
    assert.match(eddy(['info', path.join('cfg', 'model.safetensors')], dir).stdout, /GRU\(inputSize=64, hiddenSize=8, /);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ hiden: 8 }));
    assertOneLineError(eddy(['train', '--config', 'bad.json'], dir), /^eddy: Unknown key "hiden" in --config file/);
  });

  it('generate streams text from the saved model', async function () {
    // 10 000 characters take long enough to generate (most of a second) that the reader sees them arrive in
    // pieces even on a loaded machine: a short text could all sit in the pipe before this process got a
    // turn to read, while a generator that buffered its output would still write it in one piece.
    const child = spawn(process.execPath, [MAIN, 'generate', model, '--prompt', 'It is a truth', '--length', '10000', '--seed', '1'], { cwd: dir });
    const chunks: string[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.strictEqual(code, 0);
    const text = chunks.join('');
    assert.ok(text.startsWith('It is a truth'));
    assert.ok(text.length >= 10000, `received ${text.length} characters`);
    assert.ok(chunks.length > 1, 'written in pieces as it is produced');
  });

  it('info prints the architecture and parameter count', function () {
    const r = eddy(['info', model], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /Parameters: [\d,]+/);
    assert.match(r.stdout, /Embedding\(numEmbeddings=\d+, embeddingDim=64, /);
    assert.match(r.stdout, /LSTM\(inputSize=64, hiddenSize=16, /);
    assert.match(r.stdout, /Task: text/);
  });

  it('export-onnx writes an ONNX file of the saved model', function () {
    const out = path.join(dir, 'model.onnx');
    const r = eddy(['export-onnx', model, out], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /ONNX model written to .*model\.onnx/);
    assert.ok(fs.statSync(out).size > 1000);
  });

  it('evaluate scores the model on text', function () {
    const r = eddy(['evaluate', model, '--data', path.join(DATA, 'austen-northanger-abbey.txt'), '--max-chars', '5000', '--seq-len', '32'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /bits\/char/);
  });

  it('trains, forecasts and evaluates the CO2 series against the naive baselines', function () {
    const r = eddy(['train', '--task', 'forecast', '--data', path.join(DATA, 'co2.csv'), '--column', 'co2', '--epochs', '2', '--hidden', '8', '--seq-len', '26', '--out', 'fc', '--threads', '1'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^model\s+[\d.]+/m);
    assert.match(r.stdout, /^naive\s+[\d.]+/m);
    assert.match(r.stdout, /^seasonal naive \(52\)\s+[\d.]+/m);
    const html = fs.readFileSync(path.join(dir, 'fc', 'report.html'), 'utf8');
    assert.match(html, /Held-out series, forecast with prediction intervals, and baselines/);
    assert.strictEqual((html.match(/<polygon class="band"/g) ?? []).length, 2, 'the 80 % and 95 % intervals');
    assert.match(html, /data-name="valLoss"/, 'the validation curve of early stopping');
    const f = eddy(['forecast', path.join(dir, 'fc', 'model.safetensors'), '--data', path.join(DATA, 'co2.csv'), '--steps', '5'], dir);
    assert.strictEqual(f.status, 0, f.stderr);
    const rows = f.stdout.trim().split('\n').filter((l) => /^\d+,\d/.test(l));
    assert.strictEqual(rows.length, 5);
    for (const row of rows) assert.ok(Math.abs(Number(row.split(',')[1]) - 370) < 30, row);
  });

  it('trains a forecaster with --horizon and forecasts with prediction intervals', function () {
    const r = eddy(['train', '--task', 'forecast', '--data', path.join(DATA, 'airpassengers.csv'), '--season', '12', '--test-size', '24', '--horizon', '4', '--epochs', '40', '--out', 'ap', '--threads', '1'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /4 steps per forecast/);
    assert.match(r.stdout, /^1 to 4 steps ahead \(84 values\)$/m);
    assert.match(r.stdout, /^seasonal naive \(12\)\s+[\d.]+/m);
    assert.match(r.stdout, /^interval coverage: 80 %: \d+ %, 95 %: \d+ %$/m);
    const f = eddy(['forecast', path.join(dir, 'ap', 'model.safetensors'), '--data', path.join(DATA, 'airpassengers.csv'), '--steps', '6'], dir);
    assert.strictEqual(f.status, 0, f.stderr);
    assert.match(f.stdout, /^step,passengers,lower80,upper80,lower95,upper95$/m);
    const rows = f.stdout.trim().split('\n').filter((l) => /^\d+,\d/.test(l)).map((l) => l.split(',').map(Number));
    assert.strictEqual(rows.length, 6);
    for (const [, mean, lo80, hi80, lo95, hi95] of rows) {
      assert.ok(lo95 <= lo80 && lo80 < mean && mean < hi80 && hi80 <= hi95, `${[mean, lo80, hi80, lo95, hi95]}`);
      assert.ok(Math.abs(mean - 450) < 150, `${mean}`); // the series ends at 432 after peaks of 622
    }
    const e = eddy(['evaluate', path.join(dir, 'ap', 'model.safetensors'), '--data', path.join(DATA, 'airpassengers.csv'), '--test-size', '24', '--season', '12'], dir);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^One step ahead \(24 values\)$/m);
    assert.match(eddy(['info', path.join(dir, 'ap', 'model.safetensors')], dir).stdout, /Forecaster: 13 lags, season 12, horizon 4/);
  });

  it('refuses recurrent-model flags and a bad --horizon for --task forecast', function () {
    assertOneLineError(eddy(['train', '--task', 'forecast', '--cell', 'lstm', '--layers', '2'], dir), /^eddy: Expected no --cell, --layers for --task forecast: its forecaster is a small ensemble of lag networks/);
    assertOneLineError(eddy(['train', '--task', 'forecast', '--horizon', '0'], dir), /Expected an integer ≥ 1 for --horizon but received 0/);
  });

  it('classifies labelled texts from a CSV and evaluates the classifier', function () {
    const rows = ['text,label'];
    for (let i = 0; i < 30; i++) rows.push(`what a lovely day ${i},pos`, `such a dreadful night ${i},neg`);
    fs.writeFileSync(path.join(dir, 'labelled.csv'), rows.join('\n') + '\n');
    const r = eddy(['train', '--task', 'classify', '--data', 'labelled.csv', '--epochs', '2', '--hidden', '8', '--out', 'cls', '--threads', '1'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /into 2 classes \(neg 30, pos 30\)/);
    assert.match(r.stdout, /^epoch 2\/2, .*val_accuracy [\d.]+ %/m);
    const e = eddy(['evaluate', path.join('cls', 'model.safetensors'), '--data', 'labelled.csv'], dir);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /60 texts of labelled\.csv: loss [\d.]+, accuracy [\d.]+ %/);
    assert.match(eddy(['info', path.join('cls', 'model.safetensors')], dir).stdout, /SequencePooling\(mode='last'\)/);
  });

  it('generate and evaluate take a model saved from the API without the task key when its layers fit', async function () {
    const { model: lm, metadata } = await lib.loadModelFile(model);
    const api = path.join(dir, 'api-lm.safetensors');
    await lib.save(lm, api, { metadata: { tokenizer: metadata.tokenizer } });
    const g = eddy(['generate', api, '--length', '20', '--seed', '1'], dir);
    assert.strictEqual(g.status, 0, g.stderr);
    assert.ok(g.stdout.startsWith('It is a truth') && g.stdout.length > 'It is a truth'.length + 20, g.stdout);
    const e = eddy(['evaluate', api, '--data', path.join(DATA, 'austen-northanger-abbey.txt'), '--max-chars', '3000', '--seq-len', '32'], dir);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /bits\/char/);

    // A tokenizer that is not JSON (a file edited by hand) is named in a one-line error.
    const broken = path.join(dir, 'api-broken.safetensors');
    await lib.save(lm, broken, { metadata: { task: 'text', tokenizer: '{"type": "CharTok' } });
    assertOneLineError(eddy(['generate', broken], dir), /^eddy: Expected JSON in the metadata key "tokenizer" of the model file but it does not parse: /);
    // Without a tokenizer there is nothing to generate with.
    const bare = path.join(dir, 'api-bare.safetensors');
    await lib.save(lm, bare);
    assertOneLineError(eddy(['generate', bare], dir), /^eddy: Expected a text model \(from `eddy train --task text`\) for `eddy generate` but ".*api-bare\.safetensors" is not one made by `eddy train`$/);
    // A classifier's layers (pooled to one output per text) cannot generate, even with a tokenizer: refused before any output.
    const classifier = lib.sequential([new lib.Embedding({ numEmbeddings: 80, embeddingDim: 8 }), new lib.LSTM({ inputSize: 8, hiddenSize: 8 }), new lib.SequencePooling({ mode: 'last' }), new lib.Linear({ inFeatures: 8, outFeatures: 2 })] as never);
    const pooled = path.join(dir, 'api-pooled.safetensors');
    await lib.save(classifier, pooled, { metadata: { tokenizer: metadata.tokenizer } });
    const p = eddy(['generate', pooled, '--prompt', 'what'], dir);
    assertOneLineError(p, /^eddy: Expected a recurrent layer or a per-step layer .* but received SequencePooling/);
    assert.strictEqual(p.stdout, '');
  });

  it('bad flags, values and files give one line on stderr and a non-zero exit, never a stack trace', function () {
    assertOneLineError(eddy(['train', '--bogus'], dir), /unknown option '--bogus'/);
    assertOneLineError(eddy(['train', '--hidden', 'abc'], dir), /^eddy: Expected a number for --hidden but received "abc"$/);
    assertOneLineError(eddy(['train', '--cell', 'foo'], dir), /Allowed choices are lstm, gru, rnn/);
    assertOneLineError(eddy(['train', '--epochs', '0'], dir), /^eddy: Expected an integer ≥ 1 for --epochs but received 0$/);
    assertOneLineError(eddy(['train', '--data', 'missing.txt'], dir), /^eddy: Cannot find the --data file "missing.txt"$/);
    assertOneLineError(eddy(['train', '--task', 'text', '--bidirectional'], dir), /^eddy: Expected no --bidirectional for --task text/);
    assertOneLineError(eddy(['generate', 'missing.safetensors'], dir), /^eddy: Cannot find the model file/);
    assertOneLineError(eddy(['info', MAIN], dir), /^eddy: /);
    assertOneLineError(eddy(['nonsense'], dir), /unknown command 'nonsense'/);
    assertOneLineError(eddy(['train', '--resume', 'run/none.safetensors', '--hidden', '8'], dir), /^eddy: --resume continues with the checkpoint's settings; only --epochs, --out, --threads, --distributed, --sample-length and --prompt may change \(received --hidden\)$/);
    assertOneLineError(eddy(['generate', model, '--length', '-3'], dir), /^eddy: Expected non-negative integer for length/);
    assert.strictEqual(eddy(['generate', model, '--length', '-3'], dir).stdout, '', 'nothing printed before the error');
  });

  it('--help works for every command and shows examples', function () {
    for (const cmd of [[], ['train'], ['generate'], ['forecast'], ['evaluate'], ['info'], ['export-onnx'], ['bench']]) {
      const r = eddy([...cmd, '--help'], dir);
      assert.strictEqual(r.status, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: eddy/);
      assert.match(r.stdout, /Examples:\n\s+\$ eddy/);
    }
  });

  it('Ctrl-C during training writes a checkpoint and --resume continues from it', async function () {
    const child = spawn(process.execPath, [MAIN, 'train', ...TINY, '--max-chars', '200000', '--epochs', '3', '--out', 'sig'], { cwd: dir });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && /^epoch 1\/3/m.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.ok(sent, `no epoch line appeared:\n${out}`);
    assert.strictEqual(code, 130, out);
    assert.match(out, /checkpoint saved to sig[/\\]checkpoint\.safetensors/);
    const checkpoint = path.join(dir, 'sig', 'checkpoint.safetensors');
    assert.ok(fs.existsSync(checkpoint));
    assert.ok(!fs.existsSync(path.join(dir, 'sig', 'model.safetensors')));

    const r = eddy(['train', '--resume', checkpoint, '--sample-length', '10'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resuming from .* after epoch [12]/);
    assert.doesNotMatch(r.stdout, /^epoch 1\/3/m);
    assert.match(r.stdout, /^epoch 3\/3/m);
    assert.ok(fs.existsSync(path.join(dir, 'sig', 'model.safetensors')));
  });

  it('--resume reads a checkpoint written with the earlier metadata keys cli_config and cli_history', function () {
    const checkpoint = path.join(dir, 'old-keys.safetensors');
    fs.copyFileSync(path.join(dir, 'sig', 'checkpoint.safetensors'), checkpoint);
    rewriteMetadata(checkpoint, ({ trainConfig, trainHistory, ...rest }) => {
      assert.ok(trainConfig && trainHistory, 'the checkpoint carries the run settings and curves');
      return { ...rest, cli_config: trainConfig, cli_history: trainHistory };
    });
    // --epochs 1: the checkpoint has done that already, so the run goes straight to saving.
    const r = eddy(['train', '--resume', checkpoint, '--epochs', '1', '--out', 'old-keys', '--sample-length', '10'], dir);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resuming from .* after epoch [12]/);
    assert.match(fs.readFileSync(path.join(dir, 'old-keys', 'report.html'), 'utf8'), /data-name="loss"/, 'the loss curve came back from cli_history');
  });
});
