import * as assert from 'assert';
import * as eddy from '../../lib';

const { handleMissing, windows, parseSeriesCsv } = eddy.timeseries;

describe('timeseries missing values', () => {
  it("'error' (the default) names the row", () => {
    assert.throws(() => handleMissing([1, 2, NaN, 4]), {
      name: 'FormatError',
      message: "Expected a number at row 2 of series but received a missing value (NaN or null); pass missing: 'drop', 'interpolate' or 'ffill' to handle gaps",
    });
    assert.throws(() => windows([[1, 2], [3, null], [5, 6]], { inputSteps: 1 }), {
      name: 'FormatError',
      message: "Expected a number at row 1, column 1 of series but received a missing value (NaN or null); pass missing: 'drop', 'interpolate' or 'ffill' to handle gaps",
    });
  });

  it("'drop' removes the rows with a gap", () => {
    assert.deepStrictEqual(handleMissing([1, NaN, 3, null, 5], 'drop'), [1, 3, 5]);
    assert.deepStrictEqual(handleMissing([[1, 2], [NaN, 4], [5, 6]], 'drop'), [[1, 2], [5, 6]]);
  });

  it("'interpolate' is linear inside and takes the nearest value at the ends", () => {
    assert.deepStrictEqual(handleMissing([NaN, 1, NaN, NaN, 4, NaN], 'interpolate'), [1, 1, 2, 3, 4, 4]);
    assert.deepStrictEqual(handleMissing([[0, NaN], [NaN, 10], [4, 20]], 'interpolate'), [[0, 10], [2, 10], [4, 20]]);
  });

  it("'ffill' carries the last value forward (leading gaps take the first value)", () => {
    assert.deepStrictEqual(handleMissing([NaN, 1, NaN, NaN, 4, NaN], 'ffill'), [1, 1, 1, 1, 4, 4]);
  });

  it('refuses a column with no values at all, and unknown policies', () => {
    assert.throws(() => handleMissing([NaN, null], 'interpolate'), { name: 'FormatError', message: 'Expected at least one value in column 0 of series but every value is missing' });
    assert.throws(() => handleMissing([1], 'zero' as never), {
      name: 'ValidationError',
      message: "Expected one of 'error', 'drop', 'interpolate', 'ffill' for policy but received \"zero\" of type string",
    });
  });

  it('windows apply the policy before cutting', () => {
    const { x, y } = windows([1, NaN, 3, 4], { inputSteps: 2, missing: 'interpolate' });
    assert.deepStrictEqual(x.toArray(), [[[1], [2]], [[2], [3]]]);
    assert.deepStrictEqual(y.toArray(), [[[3]], [[4]]]);
  });

  it('CSV errors name the file line and column', () => {
    const csv = 'date,co2\n19580329,316.1\n19580405,317.3\n19580412,\n19580419,317.5\n';
    assert.throws(() => parseSeriesCsv(csv, { source: 'co2.csv' }), {
      name: 'FormatError',
      message: 'Expected a number at line 4 (column "co2") of co2.csv but received an empty field; pass missing: \'drop\', \'interpolate\' or \'ffill\' to handle gaps',
    });
    assert.deepStrictEqual(parseSeriesCsv(csv, { missing: 'interpolate' }).column('co2'), [316.1, 317.3, 317.4, 317.5]);
    const dropped = parseSeriesCsv(csv, { missing: 'drop' });
    assert.deepStrictEqual(dropped.time, ['19580329', '19580405', '19580419']);
    assert.deepStrictEqual(dropped.lines, [2, 3, 5]);
  });
});
