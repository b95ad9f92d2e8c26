import * as assert from 'assert';
import * as eddy from '../../lib';
import { openHandles, rejection, tempDir } from './helpers';

const { fromText, fromJsonl, fromCsv, fromArray } = eddy.data;

describe('data: file sources', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  async function parseError(ds: eddy.data.Dataset<unknown>): Promise<eddy.data.ParseError> {
    const err = await rejection(ds.toArray());
    assert.ok(err instanceof eddy.data.ParseError, `${err.name}: ${err.message}`);
    assert.ok(err instanceof eddy.FormatError);
    assert.strictEqual((err as eddy.FormatError).code, 'ERR_EDDY_FORMAT');
    return err as eddy.data.ParseError;
  }

  describe('fromText', () => {
    const text = '\ufefffirst line\r\nsecond: é, €, 𝄞\n\nlast without newline';

    it('yields lines without their breaks or the BOM, the same for any read size', async () => {
      const file = tmp.file('lines.txt', text);
      const expected = ['first line', 'second: é, €, 𝄞', '', 'last without newline'];
      assert.deepStrictEqual(await fromText(file).toArray(), expected);
      for (const readSize of [1, 2, 3, 5, 7]) assert.deepStrictEqual(await fromText(file, { readSize }).toArray(), expected, `readSize ${readSize}`);
      assert.deepStrictEqual(await fromText(tmp.file('nl.txt', 'a\nb\n')).toArray(), ['a', 'b']);
      assert.deepStrictEqual(await fromText(tmp.file('empty.txt', '')).toArray(), []);
    });

    it('yields chunks of chunkSize characters that join to the text, never splitting a surrogate pair', async () => {
      const file = tmp.file('chunks.txt', text);
      for (const readSize of [3, 65536]) {
        const chunks = await fromText(file, { by: 'chunk', chunkSize: 4, readSize }).toArray();
        assert.strictEqual(chunks.join(''), text.slice(1));
        assert.ok(chunks.slice(0, -1).every((c) => c.length === 4 || (c.length === 3 && c.codePointAt(2)! > 0xffff)), JSON.stringify(chunks));
        assert.ok(chunks.every((c) => !/[\ud800-\udbff]$/.test(c)));
      }
    });

    it('reports invalid UTF-8 at its line and column, and reads Latin-1 on request', async () => {
      const file = tmp.file('latin1.txt', Buffer.concat([Buffer.from('ok\nnaïve: '), Buffer.from('caf\xe9 au lait\n', 'latin1')]));
      for (const readSize of [4, 65536]) {
        const err = await parseError(fromText(file, { readSize }));
        assert.strictEqual(err.message, `Invalid UTF-8 in ${file} at line 2, column 11: Expected UTF-8 text but received the byte 0xE9 (pass encoding: 'latin1' for a Latin-1 file)`);
        assert.deepStrictEqual([err.file, err.line, err.column], [file, 2, 11]);
      }
      assert.deepStrictEqual(await fromText(file, { encoding: 'latin1' }).toArray(), ['ok', 'naÃ¯ve: café au lait']);
      const cut = tmp.file('cut.txt', Buffer.concat([Buffer.from('ab\n€'), Buffer.from('€').subarray(0, 2)]));
      assert.strictEqual(
        (await parseError(fromText(cut, { by: 'chunk' }))).message,
        `Invalid UTF-8 in ${cut} at line 2, column 2: Expected UTF-8 text but received the end of the file inside the character that starts with the byte 0xE2 (pass encoding: 'latin1' for a Latin-1 file)`,
      );
      const overlong = tmp.file('overlong.txt', Buffer.from([0x61, 0xc0, 0xaf]));
      assert.strictEqual((await parseError(fromText(overlong))).column, 2);
    });
  });

  describe('fromJsonl', () => {
    it('parses one value per line, skipping blank lines', async () => {
      const file = tmp.file('ok.jsonl', '{"x":[1,2],"y":1}\r\n\n  \n[3]\n"s"\nnull\n{"é":"€"}');
      assert.deepStrictEqual(await fromJsonl(file, { readSize: 5 }).toArray(), [{ x: [1, 2], y: 1 }, [3], 's', null, { é: '€' }]);
    });

    it('reports the line and the column of the JSON error', async () => {
      const cases: [string, string][] = [
        ['{"a":1}\n\n{"a":1,}\n', "line 3, column 8: Expected double-quoted property name"],
        ['{"a":1}\n{"a" 1}', "line 2, column 6: Expected ':' after property name"],
        ['[1,2]\n[1,]', "line 2, column 4: Unexpected token ']'"],
        ['{"a":tru}', "line 1, column 9: Unexpected token '}'"],
        ['{"a":1}\r\n{"a":', 'line 2, column 6: Unexpected end of JSON input'],
        ['{"a":1} x', 'line 1, column 9: Unexpected non-whitespace character after JSON'],
        ['"abc', 'line 1, column 5: Unterminated string'],
      ];
      for (const [content, where] of cases) {
        const file = tmp.file('bad.jsonl', content);
        assert.strictEqual((await parseError(fromJsonl(file))).message, `Invalid JSON in ${file} at ${where}`);
      }
    });

    it('finds the same error offsets as V8 where V8 names them', () => {
      const { jsonErrorOffset } = require('../../lib/data/json-error') as typeof import('../../lib/data/json-error');
      const texts = ['{"a":1,}', '{x', '[1,2', '{"a" 1}', '"abc', '1 2', '{"a":"\u0001"}', '-', '[1.]', '[1e]', '{"a":1}}', '[01]', '"\\x"', '"\\u12g4"', '[1,2]]', '{"a":[1,{"b":2]}', '  '];
      for (const t of texts) {
        let position: number | undefined;
        try {
          JSON.parse(t);
        } catch (err) {
          const m = / at position (\d+)/.exec((err as Error).message);
          position = m ? Number(m[1]) : t.length; // "Unexpected end of JSON input": the end
        }
        assert.strictEqual(jsonErrorOffset(t), position, JSON.stringify(t));
      }
      for (const ok of ['{}', '[]', ' {"a": [1, -2.5e+3, true, false, null, "\\u00e9\\n"]} ', '0', '"x"']) assert.strictEqual(jsonErrorOffset(ok), -1, ok);
    });
  });

  describe('fromCsv', () => {
    it('reads arrays by default, casting numbers and empty fields (null)', async () => {
      const file = tmp.file('plain.csv', 'a,b,c\n1,2.5,x\n-3,,"q, ""r""\nnext"\n');
      assert.deepStrictEqual(await fromCsv(file).toArray(), [['a', 'b', 'c'], [1, 2.5, 'x'], [-3, null, 'q, "r"\nnext']]);
      assert.deepStrictEqual(await fromCsv(file, { cast: false }).skip(2).toArray(), [['-3', '', 'q, "r"\nnext']]);
    });

    it('keys records by the header (columns: true) or by given names', async () => {
      const file = tmp.file('header.csv', '\ufeffdate,co2,note\r\n19580329,316.1,\r\n\r\n19580405,,"gap"\r\n');
      assert.deepStrictEqual(await fromCsv(file, { columns: true }).toArray(), [
        { date: 19580329, co2: 316.1, note: null },
        { date: 19580405, co2: null, note: 'gap' },
      ]);
      const headerless = tmp.file('names.csv', '1;2\n3;4\n');
      assert.deepStrictEqual(await fromCsv(headerless, { columns: ['u', 'v'], delimiter: ';' }).toArray(), [{ u: 1, v: 2 }, { u: 3, v: 4 }]);
    });

    it('casts only plain decimal numbers; nullValues, comments, tabs, trim, quote: null and relaxColumnCount', async () => {
      const file = tmp.file('cast.csv', ['1,+2,.5,1e3,-0.25E-2', '0x10,1e,1.2.3, 7,NaN', 'NA,Infinity,-,+,.'].join('\n'));
      assert.deepStrictEqual(await fromCsv(file, { nullValues: ['', 'NA'] }).toArray(), [
        [1, 2, 0.5, 1000, -0.0025],
        ['0x10', '1e', '1.2.3', ' 7', 'NaN'],
        [null, 'Infinity', '-', '+', '.'],
      ]);
      const tsv = tmp.file('t.tsv', '# comment\na\t b \n1\t 2 \n');
      assert.deepStrictEqual(await fromCsv(tsv, { delimiter: '\t', comment: '#', trim: true, columns: true }).toArray(), [{ a: 1, b: 2 }]);
      assert.deepStrictEqual(await fromCsv(tmp.file('q.csv', 'a"b,"c"\n'), { quote: null }).toArray(), [['a"b', '"c"']]);
      assert.deepStrictEqual(await fromCsv(tmp.file('r.csv', '1,2\n3\n4,5,6\n'), { relaxColumnCount: true }).toArray(), [[1, 2], [3], [4, 5, 6]]);
    });

    it('reports every parse error at its line and field', async () => {
      const cases: [string, eddy.data.FromCsvOptions, string][] = [
        ['a,b,c\n1,2,3\n\n4,5\n', { columns: true }, 'line 4, column 3: Expected 3 fields (like the header) but received 2; relaxColumnCount: true accepts records of any length'],
        ['1,2\n3,4,5\n', {}, 'line 2, column 3: Expected 2 fields (like the first record) but received 3; relaxColumnCount: true accepts records of any length'],
        ['1,2\n3,4\n5,6,7\n', { columns: ['a', 'b'] }, 'line 3, column 3: Expected 2 fields (one per name in columns) but received 3; relaxColumnCount: true accepts records of any length'],
        ['\n1,2,3\n4,5,6\n', { columns: ['a', 'b'] }, 'line 2, column 3: Expected 2 fields (one per name in columns) but received 3'],
        ['a,b\n1,"2"x\n', {}, 'line 2, column 2: Expected a delimiter or the end of the line after the closing quote of the field but received "x"'],
        ['a,b\n1,2x"y"\n', {}, 'line 2, column 2: Expected a quote only at the start of a field but received one after "2x" (double the quotes inside a quoted field)'],
        ['a,b\n1,2\n3,"4\n5,6\n7,8\n', {}, 'line 3, column 2: Expected a closing quote for the quoted field that starts here but received the end of the file'],
        ['a,b\n"1\n2,3\n', {}, 'line 2, column 1: Expected a closing quote for the quoted field that starts here but received the end of the file'],
        ['# notes\n\nx,y,x\n1,2,3\n', { columns: true, comment: '#' }, 'line 3, column 3: Expected a unique, non-empty column name in the header but received "x" (the name of column 1)'],
        ['x,,z\n', { columns: true }, 'line 1, column 2: Expected a unique, non-empty column name in the header but received ""'],
        ['a,b\n1,"' + 'z'.repeat(100), { maxRecordSize: 50 }, 'line 2, column 2: Expected records of at most 50 bytes (maxRecordSize) but received a longer one (an unclosed quote?)'],
      ];
      for (const [content, opts, where] of cases) {
        const file = tmp.file('bad.csv', content);
        for (const readSize of [3, 65536]) {
          assert.strictEqual((await parseError(fromCsv(file, { ...opts, readSize }))).message, `Invalid CSV in ${file} at ${where}`, `${JSON.stringify(content)} readSize ${readSize}`);
        }
      }
      const latin = tmp.file('latin.csv', Buffer.from('a,b\n1,caf\xe9\n', 'latin1'));
      assert.strictEqual((await parseError(fromCsv(latin))).message, `Invalid UTF-8 in ${latin} at line 2, column 6: Expected UTF-8 text but received the byte 0xE9 (pass encoding: 'latin1' for a Latin-1 file)`);
      assert.deepStrictEqual(await fromCsv(latin, { encoding: 'latin1', columns: true }).toArray(), [{ a: 1, b: 'café' }]);
      const bom = tmp.file('bom.csv', '\ufeffa,b\n1,"2\n');
      assert.strictEqual((await parseError(fromCsv(bom))).line, 2);
    });

    it('checks its options', () => {
      const cases: [() => unknown, string][] = [
        [() => fromCsv(42 as unknown as string), 'Expected a non-empty string (a file path) for path but received 42 of type number'],
        [() => fromCsv('f.csv', { columns: 'yes' as unknown as boolean }), 'Expected true, false or a non-empty array of non-empty strings for columns but received "yes" of type string'],
        [() => fromCsv('f.csv', { columns: ['a', 'b', 'a'] }), 'Expected unique names (columns[0] is the same) for columns[2] but received "a" of type string'],
        [() => fromCsv('f.csv', { delimiter: '' }), 'Expected a non-empty string or null for delimiter but received "" of type string'],
        [() => fromCsv('f.csv', { quote: "''" }), `Expected one character or null for quote but received "''" of type string`],
        [() => fromCsv('f.csv', { encoding: 'utf16le' as 'utf8' }), "Expected one of 'utf-8', 'utf8', 'latin1' for encoding but received \"utf16le\" of type string"],
        [() => fromText('f.txt', { by: 'word' as 'line' }), "Expected one of 'line', 'chunk' for by but received \"word\" of type string"],
        [() => fromJsonl('f.jsonl', { readSize: 0 }), 'Expected positive integer for readSize but received 0 of type number'],
      ];
      for (const [fn, message] of cases) assert.throws(fn, { name: 'ValidationError', message });
    });
  });

  describe('file handles', () => {
    const many = (n: number, line: (i: number) => string): string => Array.from({ length: n }, (_, i) => line(i)).join('\n') + '\n';

    it('stay open during an iteration and close on an early break, through take and prefetch too', async () => {
      const text = tmp.file('h.txt', many(5000, (i) => `line ${i}`));
      const jsonl = tmp.file('h.jsonl', many(5000, (i) => JSON.stringify({ i })));
      const csv = tmp.file('h.csv', 'i,j\n' + many(5000, (i) => `${i},${i * 2}`));
      const sources: [string, eddy.data.Dataset<unknown>][] = [
        [text, fromText(text, { readSize: 1024 })],
        [text, fromText(text, { by: 'chunk', chunkSize: 10, readSize: 1024 })],
        [jsonl, fromJsonl(jsonl, { readSize: 1024 })],
        [csv, fromCsv(csv, { columns: true, readSize: 1024 })],
      ];
      for (const [file, ds] of sources) {
        for (const pipeline of [ds, ds.map((x) => x).batch(3), ds.prefetch(4)]) {
          let n = 0;
          for await (const _ of pipeline) {
            if (n === 0) assert.strictEqual(openHandles(file), 1, `${file} is open while iterating`);
            if (++n === 10) break;
          }
          assert.strictEqual(openHandles(file), 0, `${file} is closed after the break`);
        }
        assert.strictEqual((await ds.take(2).toArray()).length, 2);
        assert.strictEqual(openHandles(file), 0, `${file} is closed after take`);
      }
    });

    it('close when a map fails or the file is malformed', async () => {
      const jsonl = tmp.file('e.jsonl', many(3000, (i) => JSON.stringify({ i })) + '{oops}\n');
      await rejection(fromJsonl(jsonl).toArray());
      assert.strictEqual(openHandles(jsonl), 0);
      const csv = tmp.file('e.csv', many(3000, (i) => `${i},${i}`) + '1,2,3\n');
      await rejection(fromCsv(csv).toArray());
      assert.strictEqual(openHandles(csv), 0);
      const err = await rejection(fromCsv(csv).map((r, i) => { if (i === 100) throw new Error('map failed'); return r; }).prefetch(2).toArray());
      assert.strictEqual(err.message, 'map failed');
      assert.strictEqual(openHandles(csv), 0);
    });

    it('passes a missing file on as a FileError holding the system error', async () => {
      const err = await rejection(fromText(tmp.dir + '/missing.txt').toArray());
      assert.ok(err instanceof eddy.FileError);
      assert.strictEqual(err.code, 'ERR_EDDY_FILE');
      assert.strictEqual(err.systemCode, 'ENOENT');
      assert.strictEqual((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
      const csvErr = await rejection(fromCsv(tmp.dir + '/missing.csv').toArray());
      assert.strictEqual((csvErr as eddy.FileError).systemCode, 'ENOENT');
    });
  });

  it('fromArray serves every iteration from the same array', async () => {
    const ds = fromArray([1, 2, 3]);
    assert.deepStrictEqual([await ds.toArray(), await ds.toArray()], [[1, 2, 3], [1, 2, 3]]);
  });
});
