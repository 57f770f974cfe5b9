/**
 * Benchmark runner: `npm run bench -- NAME [OPTIONS]` (or `npx tsx bench/run.ts NAME`) runs bench/NAME.ts; with
 * no name it runs every bench. Each bench exports `run(args): Promise<BenchResult>`, `args` being the options
 * after the names (`npm run bench -- scale --cameras 50,200`); the runner prints a table with the ratios against
 * the baseline measured in the same run and writes every figure to bench/results/NAME.json.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The same figure for the baseline, measured in the same run. */
  baseline?: number;
  /** value / baseline (computed by the runner when absent). */
  ratio?: number;
  /** Which way is better, for the reader. */
  better?: 'higher' | 'lower';
}

export interface BenchResult {
  title: string;
  /** What the baseline is. */
  baseline?: string;
  rows: BenchRow[];
  notes?: string[];
}

interface BenchModule {
  /** `args`: the command line after the bench names (`npm run bench -- scale --cameras 50,200`). */
  run(args: string[]): Promise<BenchResult>;
}

const HERE = __dirname;

async function benchNames(): Promise<string[]> {
  const files = await readdir(HERE);
  return files
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '';
  const abs = Math.abs(n);
  return abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function table(result: BenchResult): string {
  const head = ['figure', 'value', 'unit', 'baseline', 'ratio'];
  const rows = result.rows.map((r) => [
    r.name,
    fmt(r.value),
    r.unit,
    fmt(r.baseline),
    r.ratio === undefined ? '' : `${fmt(r.ratio)}x${r.better ? ` (${r.better} is better)` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function runOne(name: string, args: string[]): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(join(HERE, `${name}.ts`)) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts exports no run()`);
  const started = Date.now();
  const result = await mod.run(args);
  for (const row of result.rows) {
    if (row.ratio === undefined && row.baseline !== undefined && row.baseline !== 0)
      row.ratio = row.value / row.baseline;
  }
  console.log(`\n== ${name}: ${result.title}${result.baseline ? `\n   baseline: ${result.baseline}` : ''}`);
  console.log(table(result));
  for (const note of result.notes ?? []) console.log(`   ${note}`);
  const dir = join(HERE, 'results');
  await mkdir(dir, { recursive: true });
  const record = {
    bench: name,
    ...result,
    at: new Date().toISOString(),
    durationMs: Date.now() - started,
    machine: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpus().length,
      memoryBytes: totalmem(),
    },
  };
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

async function main(): Promise<void> {
  // Bench names first, then the options given to each bench (`scale --cameras 50,200`).
  const argv = process.argv.slice(2);
  const firstOption = argv.findIndex((a) => a.startsWith('-'));
  const asked = firstOption === -1 ? argv : argv.slice(0, firstOption);
  const options = firstOption === -1 ? [] : argv.slice(firstOption);
  const all = await benchNames();
  const names = asked.length > 0 ? asked : all;
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) throw new Error(`unknown bench: ${unknown.join(', ')} (have: ${all.join(', ')})`);
  for (const name of names) await runOne(name, options);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
