import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { logLabel, renderReport } from '../../lib/report/report';

const SAMPLE = {
  title: 'Char-level LSTM on <Austen> & co',
  facts: { task: 'text', parameters: 123456 },
  history: { loss: [2.5, 1.9, 1.6, 1.5], valLoss: [2.4, 2.0, 1.8, 1.75], accuracy: [0.3, 0.4, 0.5, 0.55] },
  learningRate: [0.001, 0.002, 0.002, 0.001],
  gradNorm: [5, 3, 2, 1.5, 1.2],
  forecast: { actual: [1, 2, 3, 2], predicted: [1.1, 1.9, 2.8, 2.2], baselines: { naive: [1, 1, 2, 3], 'seasonal naive': [0.9, 2.1, 2.9, 1.8] } },
  sample: 'It is a truth universally acknowledged <script>alert(1)</script>',
};

function chromium(): string | null {
  for (const candidate of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [candidate], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return null;
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('training report', () => {
  const html = renderReport(SAMPLE);

  it('is one self-contained HTML file with an SVG chart per section', () => {
    assert.strictEqual((html.match(/<svg /g) ?? []).length, 5); // loss, metrics, lr, grad norm, forecast
    assert.strictEqual((html.match(/<polyline class="series"/g) ?? []).length, 2 + 1 + 1 + 1 + 4);
    assert.match(html, /data-name="valLoss"/);
    assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /https?:|<script|src=/, 'no network, no scripts');
    assert.match(html, /<title>Char-level LSTM on &lt;Austen&gt; &amp; co<\/title>/);
    assert.match(html, /acknowledged &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it('legends show logged names as the progress lines print them; the series keep their keys', () => {
    assert.deepStrictEqual(['loss', 'valLoss', 'valAccuracy', 'bitsPerCharacter'].map(logLabel), ['loss', 'val_loss', 'val_accuracy', 'bits_per_character']);
    assert.match(html, /data-name="valLoss"/);
    assert.match(html, /class="legend"[^>]*>val_loss<\/text>/);
    assert.doesNotMatch(html, /class="legend"[^>]*>valLoss<\/text>/);
  });

  it('draws prediction intervals as bands under the forecast, widest first, in the y range', () => {
    const intervals = [
      { level: 0.8, lower: [0.5, 1.5, 2.5, 1.5], upper: [1.5, 2.5, 3.5, 2.5] },
      { level: 0.95, lower: [0, 1, 2, -4], upper: [2, 3, 4, 3] },
    ];
    const withBands = renderReport({ title: 't', forecast: { ...SAMPLE.forecast, intervals } });
    const names = [...withBands.matchAll(/<polygon class="band" data-name="([^"]+)"/g)].map((m) => m[1]);
    assert.deepStrictEqual(names, ['95 % interval', '80 % interval']);
    assert.match(withBands, /Held-out series, forecast with prediction intervals, and baselines/);
    assert.match(withBands, />-4<\/text>/, 'the axis reaches the lowest bound');
  });

  it('renders in headless Chromium (screenshot, and the SVG elements are in the page)', function () {
    this.timeout(60000);
    const browser = chromium();
    if (!browser) {
      console.log('      skipped: no Chromium on this machine (apt-get install -y chromium to run it)');
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-report-'));
    try {
      const file = path.join(dir, 'report.html');
      fs.writeFileSync(file, html);
      const profile = path.join(dir, 'profile');
      const png = path.join(dir, 'shot.png');
      execFileSync(browser!, [...FLAGS, `--user-data-dir=${profile}`, `--screenshot=${png}`, '--window-size=800,2400', `file://${file}`], { stdio: 'ignore', timeout: 45000 });
      const shot = fs.readFileSync(png);
      assert.strictEqual(shot.subarray(1, 4).toString(), 'PNG');
      assert.ok(shot.length > 20000, `screenshot of ${shot.length} bytes looks empty`);
      const dom = execFileSync(browser!, [...FLAGS, `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 45000, stdio: ['ignore', 'pipe', 'ignore'] });
      assert.strictEqual((dom.match(/<svg /g) ?? []).length, 5);
      assert.strictEqual((dom.match(/<polyline class="series"/g) ?? []).length, 9);
      console.log(`      Chromium rendered the report: ${(shot.length / 1024).toFixed(0)} KB screenshot`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
