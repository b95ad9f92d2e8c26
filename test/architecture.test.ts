/**
 * The folders of lib/ form a one-way dependency graph: a folder may import
 * from folders below it, never from one that (directly or not) imports it.
 * Type-only imports and dynamic import()/require() count too; the one
 * documented exception is Tensor's methods reaching autograd and ops
 * through lazy requires (tensor/tensor.ts says why).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const LIB = path.join(__dirname, '../../lib');

/** Edges allowed to point up: from a file to a folder. */
const EXCEPTIONS: Record<string, string[]> = { 'tensor/tensor.ts': ['autograd', 'ops'] };

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The folder of lib/ a file belongs to; files directly in lib/ are '.' (shared by every folder). */
function folderOf(file: string): string {
  const rel = path.relative(LIB, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '.';
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]*)['"]/gm;

/** Folder → folder → the files that make the edge. */
export function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(LIB)) {
    const from = folderOf(file);
    const rel = path.relative(LIB, file).split(path.sep).join('/');
    for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (!target.startsWith(LIB + path.sep)) continue;
      const to = folderOf(target.endsWith('.ts') ? target : target + '.ts');
      if (to === from || to === '.' || from === '.') continue;
      if (EXCEPTIONS[rel]?.includes(to)) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), rel]);
    }
  }
  return graph;
}

/** File → the files of the same folder of lib/ it imports (paths relative to lib/, with .ts), for the folders listed. */
export function fileGraph(folders: readonly string[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(LIB)) {
    const folder = folderOf(file);
    if (!folders.includes(folder)) continue;
    const rel = path.relative(LIB, file).split(path.sep).join('/');
    const edges = new Map<string, string[]>();
    for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const resolved = path.resolve(path.dirname(file), m[1]);
      const target = fs.existsSync(resolved + '.ts') ? resolved + '.ts' : path.join(resolved, 'index.ts');
      if (folderOf(target) !== folder) continue;
      edges.set(path.relative(LIB, target).split(path.sep).join('/'), [rel]);
    }
    graph.set(rel, edges);
  }
  return graph;
}

/** Each cycle once, as a list of folders [a, b, …, a]. */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  const walk = (node: string, stack: string[]): void => {
    const at = stack.indexOf(node);
    if (at >= 0) {
      const cycle = stack.slice(at);
      const key = [...cycle].sort().join(',');
      if (!seen.has(key)) {
        seen.add(key);
        found.push([...cycle, node]);
      }
      return;
    }
    for (const next of graph.get(node)?.keys() ?? []) walk(next, [...stack, node]);
  };
  for (const node of graph.keys()) walk(node, []);
  return found;
}

describe('architecture', () => {
  it('the folders of lib/ import one way (no cycle between folders)', () => {
    const graph = folderGraph();
    const found = cycles(graph).map((c) => c.map((f, i) => (i + 1 < c.length ? `${f} → ${c[i + 1]} (${graph.get(f)!.get(c[i + 1])!.join(', ')})` : '')).filter(Boolean).join('; '));
    assert.deepStrictEqual(found, [], `folder cycles in lib/:\n${found.join('\n')}`);
  });

  it('the files of lib/cli/ import one way (no cycle between files)', () => {
    const graph = fileGraph(['cli']);
    // The graph sees imports (static and dynamic) between files of the folder, including index.ts of a subfolder.
    assert.ok(graph.get('cli/tasks/text.ts')?.has('cli/run.ts'), 'tasks/text.ts → run.ts');
    assert.ok(graph.get('cli/train.ts')?.has('cli/tasks/classify.ts'), 'train.ts → tasks/classify.ts (dynamic)');
    const found = cycles(graph).map((c) => c.join(' → '));
    assert.deepStrictEqual(found, [], `file cycles in lib/cli/:\n${found.join('\n')}`);
  });

  it('the cycle check finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', new Map([['b', ['a/x.ts']]])],
      ['b', new Map([['c', ['b/y.ts']]])],
      ['c', new Map([['a', ['c/z.ts']]])],
    ]);
    assert.deepStrictEqual(cycles(graph), [['a', 'b', 'c', 'a']]);
  });
});
