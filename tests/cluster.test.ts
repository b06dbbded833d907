/**
 * Shards and merging (src/cluster/shard.ts, merge.ts; `cait ensemble
 * --shard K/N`, `cait merge`): the shards of a grid, an LHS sample and a
 * sweep file merge into the file the whole run writes, member for member;
 * merge refuses shards of different ensembles or versions, missing and
 * duplicated shards. Also the pieces of the Slurm executor that need no
 * cluster: sbatch options, the job script, its template, --dry-run and the
 * option checks (tests/slurm.test.ts runs a real one-node cluster).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { runCaptured } from './helpers/cli.js';
import { simulate } from '../src/solver/simulate.js';
import { parseShard, shardMembers } from '../src/cluster/shard.js';
import { checkTemplate, jobScript, splitSbatchOptions } from '../src/cluster/slurm.js';
import { parseRequestFile, requestFileText } from '../src/cluster/request.js';
import { getPreset } from '../src/config/presets.js';
import { buildGrid } from '../src/sweep/grid.js';
import { parseVary } from '../src/sweep/spec.js';
import { requestFromGrid } from '../src/ensemble/types.js';
import type { EnsembleFile } from '../src/ensemble/output.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cait-cluster-'));

/** `cait` in-process on the f64 solver in this thread (the serial CPU engine) */
const cli = (argv: string[]) => runCaptured(argv, { simulate });

const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as EnsembleFile;

/**
 * What a whole run and a merged one must share: everything but the
 * provenance (dates, wall times, where it ran), the adapter text and each
 * member's wall time.
 */
function comparable(f: EnsembleFile): unknown {
  const { provenance: _p, adapter: _a, ...rest } = f;
  return { ...rest, members: f.members.map(({ wall_s: _w, ...m }) => m) };
}

/** The CSV's rows without its comment lines (date, wall time) and without the wall_s column. */
function csvBody(text: string): string[][] {
  const rows = parseCsv(text, { comment: '#' }) as string[][];
  const wall = rows[0].indexOf('wall_s');
  return rows.map((r) => r.filter((_, j) => j !== wall));
}

const QUICK_GRID = ['--preset', 'quick', '--vary', 'stages.0.U_V=10,14,18', '--vary', 'solver.max_steps=3,200000'];

/** Run the whole ensemble and its N shards, merge them; returns the files. */
async function wholeAndMerged(name: string, args: string[], n: number, order?: number[]) {
  const whole = join(dir, `${name}-whole.json`);
  const r = await cli(['ensemble', ...args, '--out', whole, '--csv', `${whole}.csv`]);
  expect(r.err).not.toMatch(/error/);
  expect(r.code).toBe(0);
  const parts: string[] = [];
  for (let k = 0; k < n; k++) {
    const p = join(dir, `${name}-${k}.json`);
    const s = await cli(['ensemble', ...args, '--shard', `${k}/${n}`, '--out', p]);
    expect(s.err).not.toMatch(/error/);
    expect(s.code).toBe(0);
    parts.push(p);
  }
  const merged = join(dir, `${name}-merged.json`);
  const m = await cli(['merge', ...(order ?? parts.map((_, k) => k)).map((k) => parts[k]), '--out', merged, '--csv', `${merged}.csv`]);
  expect(m.err).toBe('');
  expect(m.code).toBe(0);
  return { whole, parts, merged, mergeOut: m.out };
}

describe('--shard K/N and cait merge equal the whole run', () => {
  it('a grid with a failed member, 4 shards of 6 members given in any order: values, status, reasons, durations, profiles', async () => {
    const { whole, parts, merged, mergeOut } = await wholeAndMerged('grid', QUICK_GRID, 4, [2, 0, 3, 1]);
    const w = read(whole);
    const m = read(merged);
    expect(w.counts).toEqual({ members: 6, ok: 3, failed: 3 });
    expect(comparable(m)).toEqual(comparable(w));
    expect(m.shard).toBeUndefined();
    // the member text of the JSON is byte for byte that of the whole run, wall times aside
    const memberText = (p: string) => {
      const t = readFileSync(p, 'utf8');
      return t.slice(t.indexOf('\n  "members": [')).replace(/"wall_s": [^,}]+/g, '"wall_s": 0');
    };
    expect(memberText(merged)).toBe(memberText(whole));
    expect(memberText(whole).match(/"values"/g)).toHaveLength(6);
    // each shard holds members i ≡ K (mod 4), in member order, and names the whole ensemble
    parts.forEach((p, k) => {
      const s = read(p);
      expect(s.shard).toMatchObject({ index: k, count: 4, rule: 'i mod N', ensemble: { members: 6, parameters: ['stages.0.U_V', 'solver.max_steps'], design: 'grid', profiles: 'final', version: w.version, config_sha256: w.provenance.config_sha256 } });
      expect(s.members.map((x) => x.values)).toEqual(shardMembers(6, { index: k, count: 4 }).map((i) => w.members[i].values));
    });
    expect(read(parts[3]).members).toHaveLength(1);
    // provenance: where each shard ran; wall time = their sum
    expect(m.provenance.shards!.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(m.provenance.wall_s).toBeCloseTo(parts.reduce((t, p) => t + read(p).provenance.wall_s, 0), 9);
    expect(mergeOut).toMatch(/^ensemble: 6 members, 3 ok, 3 failed;/);
    expect(csvBody(readFileSync(`${merged}.csv`, 'utf8'))).toEqual(csvBody(readFileSync(`${whole}.csv`, 'utf8')));
  });

  it('an LHS sample (seed 7), 2 shards, profiles all (current record and snapshots)', async () => {
    const args = ['--preset', 'quick', '--vary', 'stages.0.U_V=10:18', '--vary', 'stages.0.D.Rb.D_m2s=1e-22:4e-22:log', '--sample', 'lhs:5', '--seed', '7', '--profiles', 'all'];
    const { whole, parts, merged } = await wholeAndMerged('lhs', args, 2);
    const w = read(whole);
    expect(w.design).toBe('lhs');
    expect(w.seed).toBe(7);
    expect(w.members[0].stages[0].snapshots).toEqual([]); // kept (profiles all), and the quick preset records none
    expect(w.members[0].stages[0].current!.t_s.length).toBeGreaterThan(10);
    expect(comparable(read(merged))).toEqual(comparable(w));
    expect(read(parts[0]).shard!.ensemble.seed).toBe(7);
  });

  it('a sweep file, 3 shards; the shards\' CSVs number members as the whole ensemble does', async () => {
    const sweep = join(dir, 'sweep.json');
    writeFileSync(
      sweep,
      JSON.stringify({ schema: 'cait-sweep/1', base: { preset: 'quick' }, vary: [{ path: 'stages.0.T_K', values: [310, 323.15, 335, 350] }] }),
    );
    const { whole, merged } = await wholeAndMerged('sweep', ['--sweep', sweep], 3);
    expect(comparable(read(merged))).toEqual(comparable(read(whole)));
    const csv = join(dir, 'sweep-1.csv');
    expect((await cli(['ensemble', '--sweep', sweep, '--shard', '1/3', '--out', join(dir, 'sweep-1b.json'), '--csv', csv])).code).toBe(0);
    const rows = readFileSync(csv, 'utf8').split('\n').filter((l) => /^\d/.test(l));
    expect(rows.map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['1,323.15']);
    expect(readFileSync(csv, 'utf8')).toContain('# shard 1/3 of 4 members');
  });
});

describe('cait merge refuses', () => {
  // shards of a 6-member grid, and of a different grid
  const shard = (name: string) => join(dir, `ref-${name}.json`);
  let made = false;
  async function make() {
    if (made) return;
    for (const k of [0, 1, 2]) expect((await cli(['ensemble', ...QUICK_GRID, '--profiles', 'none', '--shard', `${k}/3`, '--out', shard(`a${k}`)])).code).toBe(0);
    const other = ['--preset', 'quick', '--vary', 'stages.0.U_V=10,14,19', '--vary', 'solver.max_steps=3,200000', '--profiles', 'none'];
    expect((await cli(['ensemble', ...other, '--shard', '1/3', '--out', shard('b1')])).code).toBe(0);
    expect((await cli(['ensemble', ...QUICK_GRID, '--profiles', 'none', '--shard', '1/2', '--out', shard('c1')])).code).toBe(0);
    expect((await cli(['ensemble', ...QUICK_GRID, '--profiles', 'none', '--out', shard('whole')])).code).toBe(0);
    made = true;
  }
  /** a copy of a shard with `edit` applied */
  function edited(from: string, to: string, edit: (f: EnsembleFile) => void): string {
    const f = read(shard(from));
    edit(f);
    writeFileSync(shard(to), JSON.stringify(f));
    return shard(to);
  }
  async function refused(files: string[], message: string | RegExp) {
    await make();
    const out = join(dir, 'refused.json');
    const r = await cli(['merge', ...files, '--out', out]);
    const m = /^cait: error: (.*)\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    if (typeof message === 'string') expect(m![1]).toBe(message);
    else expect(m![1]).toMatch(message);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  }

  it('a missing shard, naming it and the shards given', async () => {
    await refused([shard('a0'), shard('a2')], 'missing shard 1/3 of the ensemble of 6 members (given: 0, 2)');
  });

  it('a duplicated shard, naming both files', async () => {
    await make();
    const copy = edited('a1', 'a1copy', () => {});
    await refused([shard('a0'), shard('a1'), copy, shard('a2')], `shard 1/3 is given twice: ${shard('a1')} and ${copy}`);
  });

  it('a shard of a different ensemble, naming the difference', async () => {
    await refused(
      [shard('a0'), shard('b1'), shard('a2')],
      /^shards of different ensembles: .*ref-a0\.json \(shard 0\/3\) and .*ref-b1\.json \(shard 1\/3\) differ in values_sha256 \([0-9a-f]{12}… vs [0-9a-f]{12}…\)$/,
    );
  });

  it('shards of another version', async () => {
    await make();
    const old = edited('a1', 'a1old', (f) => {
      f.version = '0.0.9';
      f.shard!.ensemble.version = '0.0.9';
    });
    const v = read(shard('a0')).version;
    await refused([shard('a0'), old, shard('a2')], `shards of different versions: ${shard('a0')} (shard 0/3) is from cait-ensemble ${v}, ${old} (shard 1/3) from 0.0.9`);
  });

  it('shards that split the ensemble differently, and shards of different engines', async () => {
    await make();
    await refused([shard('a0'), shard('c1')], `shards split the ensemble differently: ${shard('a0')} (shard 0/3) is one of 3 shards, ${shard('c1')} (shard 1/2) one of 2`);
    const gpu = edited('a1', 'a1gpu', (f) => (f.engine = 'webgpu'));
    await refused([shard('a0'), gpu, shard('a2')], `shards ran on different engines: ${shard('a0')} (shard 0/3) on cpu, ${gpu} (shard 1/3) on webgpu`);
  });

  it('a whole ensemble, and member values edited after the run', async () => {
    await refused([shard('whole')], `${shard('whole')}: not a shard (no "shard" block): it is a whole ensemble already`);
    const bad = edited('a1', 'a1bad', (f) => (f.members[0].values[0] = 11));
    await refused([shard('a0'), bad, shard('a2')], "the shards' member values are not those of their ensemble (values_sha256 differs): was a shard file edited?");
  });

  it('a shard that is not a cait-ensemble/1 file, with one line naming the field (src/ensemble/schema.ts)', async () => {
    await make();
    const bad = edited('a1', 'a1type', (f) => ((f.members[0].stages[0] as unknown as Record<string, unknown>).duration_s = '20'));
    await refused([shard('a0'), bad, shard('a2')], `${bad}: members.0.stages.0.duration_s: Invalid input: expected number, received string`);
    const gone = edited('a1', 'a1gone', (f) => delete (f.shard!.ensemble as { values_sha256?: string }).values_sha256);
    await refused([shard('a0'), gone, shard('a2')], `${gone}: shard.ensemble.values_sha256: Invalid input: expected string, received undefined`);
    // a file that is neither a whole ensemble nor a shard is told by its first bad field, not called a whole ensemble
    const empty = join(dir, 'empty-ensemble.json');
    writeFileSync(empty, JSON.stringify({ schema: 'cait-ensemble/1' }));
    await refused([shard('a0'), empty, shard('a2')], new RegExp(`^${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [a-z_]+: Invalid input: expected`));
  });

  it('--out naming one of the shards', async () => {
    await make();
    const r = await cli(['merge', shard('a0'), shard('a1'), shard('a2'), '--out', shard('a1')]);
    expect(r.err).toBe(`cait: error: --out ${shard('a1')}: is one of the shards being merged\n`);
    expect(r.code).toBe(2);
  });
});

describe('shard and executor options', () => {
  it('parseShard: K counts from 0 like $SLURM_ARRAY_TASK_ID', () => {
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow('--shard 4/4: K must be 0..3 (K counts from 0, like $SLURM_ARRAY_TASK_ID)');
    expect(() => parseShard('1/0')).toThrow('--shard 1/0: N must be 1..100000');
    expect(() => parseShard('a/4')).toThrow('--shard a/4: expected K/N, e.g. 0/4');
    // every member in exactly one shard
    const all = [0, 1, 2, 3, 4].flatMap((k) => shardMembers(12, { index: k, count: 5 })).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('--slurm-opt: options split, words joined to their option, what cait sets refused', () => {
    expect(splitSbatchOptions(['--partition=gpu --gres=gpu:1', '-p gpu', '--time=01:00:00'])).toEqual(['--partition=gpu', '--gres=gpu:1', '-p gpu', '--time=01:00:00']);
    expect(() => splitSbatchOptions(['--array=0-3'])).toThrow('--slurm-opt --array=0-3: --array is set by cait');
    expect(() => splitSbatchOptions(['-o x.log'])).toThrow('-o is set by cait');
    expect(() => splitSbatchOptions(['gpu'])).toThrow('"gpu" is not an option');
  });

  it('the job script: the array, one log per task, CPUs = --threads, the options, run-shard with the engine options', () => {
    const template = { text: readFileSync(join(ROOT, 'scripts', 'slurm', 'job-template.sh'), 'utf8'), source: 'default' };
    const s = jobScript({ sbatch: ['--partition=gpu', '--gres=gpu:1'], template, engine: { engine: 'cpu', adapter: 'auto', threads: 4 }, cait: ['/usr/bin/node', '/opt/cait/main.js'] }, '/scratch/b', 3);
    const sbatch = s.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(sbatch).toEqual(['#SBATCH --job-name=cait', '#SBATCH --array=0-2', '#SBATCH --output=/scratch/b/task_%a.log', '#SBATCH --cpus-per-task=4', '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1']);
    expect(s).toContain(
      '\nexec /usr/bin/node /opt/cait/main.js run-shard --request request.json --shard "$SLURM_ARRAY_TASK_ID/3" --out "result_$SLURM_ARRAY_TASK_ID.json" --progress "progress_$SLURM_ARRAY_TASK_ID.jsonl" --engine cpu --adapter auto --threads 4\n',
    );
    expect(s).toContain('\ncd /scratch/b\n');
    expect(s).not.toMatch(/\{\{/);
    // the user's own CPUs per task: the threads follow them
    const own = jobScript({ sbatch: ['--cpus-per-task=8'], template, engine: { engine: 'cpu', adapter: 'auto', threads: 4 }, cait: ['node', 'm.js'] }, '/b', 2);
    expect(own).not.toContain('--cpus-per-task=4');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the job script's shell expansion
    expect(own).toContain('--threads "${SLURM_CPUS_PER_TASK:-1}"');
    // a GPU engine: no --threads
    const gpu = jobScript({ sbatch: [], template, engine: { engine: 'webgpu', adapter: 'auto' }, cait: ['node', 'm.js'] }, '/b', 2);
    expect(gpu).toContain('--engine webgpu --adapter auto\n');
    expect(gpu).toContain('#SBATCH --cpus-per-task=1');
  });

  it('templates: placeholders checked', () => {
    expect(() => checkTemplate('#!/bin/bash\n{{SBATCH}}\n{{RUN}}\n', 't.sh')).toThrow('--slurm-template t.sh: unknown placeholder {{RUN}}');
    expect(() => checkTemplate('#!/bin/bash\n{{SBATCH}}\ncait run-shard\n', 't.sh')).toThrow('{{RUN_SHARD}} is missing');
    expect(() => checkTemplate('{{SBATCH}}\n{{RUN_SHARD}}\n', 't.sh')).toThrow('the first line must be an interpreter line');
    expect(() => checkTemplate(readFileSync(join(ROOT, 'scripts', 'slurm', 'job-template.sh'), 'utf8'), 'default')).not.toThrow();
  });

  it('--dry-run prints the script and runs nothing; a template of one\'s own', async () => {
    const out = join(dir, 'dry.json');
    const mine = join(dir, 'mine.sh');
    writeFileSync(mine, '#!/bin/bash\n{{SBATCH}}\nmodule load nodejs/20\ncd {{DIR}}\n{{CAIT}} run-shard {{RUN_SHARD}}\n');
    const r = await cli(['ensemble', ...QUICK_GRID, '--executor', 'slurm', '--slurm-array', '4', '--slurm-opt', '--partition=gpu --gres=gpu:1', '--slurm-template', mine, '--engine', 'webgpu', '--dry-run', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('cait: dry run: the job script of 6 members (nothing submitted, nothing written)\n');
    expect(r.out).toContain('#SBATCH --array=0-3\n');
    expect(r.out).toContain('#SBATCH --partition=gpu\n#SBATCH --gres=gpu:1\nmodule load nodejs/20\n');
    expect(r.out).toContain(`cd ${join(dir, 'dry.slurm', 'batch-XXXXXX')}\n`);
    expect(r.out).toMatch(/run-shard --request request\.json --shard "\$SLURM_ARRAY_TASK_ID\/4" .* --engine webgpu --adapter auto\n$/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'dry.slurm'))).toBe(false);
  });

  it('the request file of the nodes: read back as written; malformed JSON by line and column, a bad field by its path, in one line', () => {
    const base = getPreset('quick');
    const req = requestFromGrid(buildGrid(base, [parseVary('stages.0.U_V=10,20')]), base, 'none');
    const text = requestFileText(req, { design: 'grid' });
    const back = parseRequestFile(text, 'r.json');
    expect(back.part.values).toEqual([[10], [20]]);
    expect(back.part.members.map((m) => m.stages[0].U_V)).toEqual([10, 20]);
    expect(() => parseRequestFile(text.replace('"design":"grid"', '"design":"grid",'), 'r.json')).toThrow(/^r\.json: malformed JSON at line 1, column \d+/);
    const bad = JSON.parse(text);
    bad.values[1][0] = 'x';
    expect(() => parseRequestFile(JSON.stringify(bad), 'r.json')).toThrow(/^r\.json: values\.1\.0: .*expected number/);
  });

  it('option checks', async () => {
    const out = join(dir, 'opt.json');
    const cases: [string[], string][] = [
      [['--slurm-array', '2'], '--slurm-array: only with --executor slurm'],
      [['--dry-run'], '--dry-run: only with --executor slurm'],
      [['--executor', 'pbs'], '--executor pbs: expected one of local, slurm'],
      [['--executor', 'slurm', '--shard', '0/2'], '--shard runs one shard here; --executor slurm runs every shard as a job array: use one of them'],
      [['--executor', 'slurm', '--slurm-opt', '--wait'], '--slurm-opt --wait: --wait is set by cait (the array, the logs, the waiting); leave it out'],
      [['--executor', 'slurm', '--slurm-dir', join(dir, 'with space')], `--slurm-dir ${join(dir, 'with space')}: use a path without spaces or shell characters (#SBATCH --output cannot quote it)`],
      [['--shard', '2/2'], '--shard 2/2: K must be 0..1 (K counts from 0, like $SLURM_ARRAY_TASK_ID)'],
    ];
    for (const [extra, message] of cases) {
      const r = await cli(['ensemble', ...QUICK_GRID, ...extra, '--out', out]);
      expect(r.err, extra.join(' ')).toBe(`cait: error: ${message}\n`);
      expect(r.code).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
  });
});
