import * as assert from 'assert';
import * as path from 'path';
import * as eddy from '../../lib';

const { parseSeriesCsv, readSeriesCsv } = eddy.timeseries;
const CO2 = path.join(__dirname, '../../../examples/data/co2.csv');

describe('timeseries CSV reader', () => {
  it('reads quoted headers, chosen columns and CRLF lines', () => {
    const t = parseSeriesCsv('"time","a","b"\r\n1,2,3\r\n2,"4",5\r\n', { columns: ['b', 'a'] });
    assert.deepStrictEqual(t.columns, ['b', 'a']);
    assert.deepStrictEqual(t.values, [[3, 2], [5, 4]]);
    assert.deepStrictEqual(t.time, ['1', '2']);
    assert.deepStrictEqual(t.series, [[3, 2], [5, 4]]);
    assert.deepStrictEqual(parseSeriesCsv('x\n1\n2\n', { timeColumn: null }).series, [1, 2]);
  });

  it('reports non-numbers and ragged records with their line', () => {
    assert.throws(() => parseSeriesCsv('t,v\n1,2\n2,abc\n', { source: 'f.csv' }), { name: 'FormatError', message: 'Expected a number at line 3 (column "v") of f.csv but received "abc" of type string' });
    assert.throws(() => parseSeriesCsv('t,v\n1,2,3\n', { source: 'f.csv' }), { name: 'FormatError', message: 'Expected 2 fields (like the header) at line 2 of f.csv but received 3' });
    assert.throws(() => parseSeriesCsv('t,v\n1,"2\n', { source: 'f.csv' }), { name: 'FormatError', message: 'Expected a closing quote for the field opened at line 2 of f.csv but the text ended' });
    assert.throws(() => parseSeriesCsv('t,v\n1,2\n', { columns: ['w'] }), {
      name: 'ValidationError',
      message: 'Expected a column name ("t", "v") or index below 2 for columns[0] but received "w" of type string',
    });
  });

  it('reads co2.csv: 2284 weeks, 59 gaps', async () => {
    await assert.rejects(readSeriesCsv(CO2), { name: 'FormatError', message: `Expected a number at line 8 (column "co2") of ${CO2} but received an empty field; pass missing: 'drop', 'interpolate' or 'ffill' to handle gaps` });
    const filled = await readSeriesCsv(CO2, { missing: 'interpolate' });
    assert.strictEqual(filled.values.length, 2284);
    assert.ok(filled.column('co2').every(Number.isFinite));
    const dropped = await readSeriesCsv(CO2, { missing: 'drop' });
    assert.strictEqual(dropped.values.length, 2284 - 59);
    const kept = await readSeriesCsv(CO2, { missing: 'keep' });
    assert.strictEqual(kept.column('co2').filter(Number.isNaN).length, 59);
  });
});
