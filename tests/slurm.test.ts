/**
 * `--executor slurm` on a real one-node Slurm cluster (scripts/slurm/local-cluster.sh:
 * Debian's slurmctld, slurmd and munge, started in beforeAll, stopped at the end):
 * an array run equals the local run member for member and records its job; a task
 * that fails is reported with its id and the end of its log and only its members are
 * flagged failed; a small fit and a small `cait gsa` write what the local runs write; Ctrl-C cancels the job;
 * `stop` ends exactly the daemons the script started, by their pid files.
 *
 * Needs root and the Slurm packages (scripts/setup.sh installs them; CI runs as root).
 * Without them the suite is skipped with the reason; CAIT_REQUIRE_SLURM=1 makes that a
 * failure. The CLI runs from dist/ (npm test builds first), as the job script does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EnsembleFile } from '../src/ensemble/output.js';
import type { FitFile } from '../src/fit/schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CLUSTER = join(ROOT, 'scripts', 'slurm', 'local-cluster.sh');
const STATE = process.env.CAIT_SLURM_DIR ?? '/tmp/cait-slurm';
const DAEMONS = ['munged', 'slurmctld', 'slurmd'];

const have = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo'].filter((c) => !have(c));
const why = process.getuid?.() !== 0 ? 'not root' : missing.length ? `not installed: ${missing.join(', ')} (scripts/setup.sh installs them)` : !existsSync(MAIN) ? 'no build (npm run build)' : '';
if (why && process.env.CAIT_REQUIRE_SLURM !== '1') console.warn(`tests/slurm.test.ts: skipped, the local Slurm cluster cannot run here: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'cait-slurm-test-'));
const env: NodeJS.ProcessEnv = { ...process.env, CAIT_DEBUG: '' };
let startedHere = false;

function cait(args: string[], timeout = 110_000) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function slurm(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Each array task's state, as squeue still lists a finished job (MinJobAge, 300 s). */
function taskStates(job: string): string[] {
  return slurm('squeue', ['--noheader', '--array', '--jobs', job, '--states=all', '--format=%K %T'])
    .trim()
    .split('\n')
    .sort();
}

/** Wait until every task of the job has left a transitional state (COMPLETING), at most 20 s. */
async function settledStates(job: string): Promise<string[]> {
  for (let i = 0; ; i++) {
    const s = taskStates(job);
    if (!s.some((x) => /COMPLETING|CONFIGURING|RUNNING|PENDING/.test(x)) || i >= 100) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether a process runs: its /proc entry exists and it is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const read = <T = EnsembleFile>(p: string) => JSON.parse(readFileSync(join(dir, p), 'utf8')) as T;

/** What the local and the Slurm run must share: all but provenance, the adapter text and wall times. */
function comparable(f: EnsembleFile): unknown {
  const { provenance: _p, adapter: _a, ...rest } = f;
  return { ...rest, members: f.members.map(({ wall_s: _w, ...m }) => m) };
}

const GRID = ['--preset', 'quick', '--vary', 'stages.0.U_V=10,14,18', '--vary', 'stages.0.T_K=310,330', '--threads', '1'];
const SLURM = ['--executor', 'slurm', '--slurm-array', '2', '--slurm-poll', '0.5'];

describe.skipIf(!!why && process.env.CAIT_REQUIRE_SLURM !== '1')('--executor slurm on a one-node Slurm cluster', () => {
  beforeAll(() => {
    if (why) throw new Error(`CAIT_REQUIRE_SLURM=1 but the local Slurm cluster cannot run here: ${why}`);
    const r = spawnSync('bash', [CLUSTER, 'start'], { encoding: 'utf8', timeout: 90_000 });
    if (r.status !== 0) throw new Error(`scripts/slurm/local-cluster.sh start failed:\n${r.stderr}`);
    startedHere = !/already running/.test(r.stderr);
    const conf = /export SLURM_CONF=(\S+)/.exec(r.stdout);
    if (!conf) throw new Error(`local-cluster.sh start printed no SLURM_CONF: ${r.stdout}`);
    env.SLURM_CONF = conf[1];
    // the local run every Slurm run is compared with
    const local = cait(['ensemble', ...GRID, '--out', 'local.json']);
    if (local.code !== 0) throw new Error(local.err);
  });

  afterAll(() => {
    if (startedHere && DAEMONS.some((d) => existsSync(join(STATE, `${d}.pid`)))) spawnSync('bash', [CLUSTER, 'stop'], { timeout: 60_000 });
  });

  it('an array of 2 tasks writes what the local run writes, member for member, and records the job', () => {
    const r = cait(['ensemble', ...GRID, ...SLURM, '--slurm-opt', '--time=00:05:00 --job-name=cait-test', '--out', 'array.json', '--csv', 'array.csv']);
    expect(r.code, r.err).toBe(0);
    const file = read('array.json');
    expect(comparable(file)).toEqual(comparable(read('local.json')));
    expect(file.counts).toEqual({ members: 6, ok: 6, failed: 0 });
    const job = file.provenance.executor!.jobs[0];
    expect(file.provenance.executor).toMatchObject({ kind: 'slurm', jobs: [{ tasks: 2, members: 6, failed_tasks: [] }], sbatch_options: ['--time=00:05:00 --job-name=cait-test'], template: 'default' });
    expect(job.job_id).toMatch(/^\d+$/);
    expect(file.adapter).toMatch(new RegExp(`^Slurm job ${job.job_id}, 2 array tasks: f64 solver, 1 worker thread`));
    expect(taskStates(job.job_id)).toEqual(['0 COMPLETED', '1 COMPLETED']);
    // the --slurm-opt options reached sbatch
    expect(slurm('squeue', ['--noheader', '--array', '--jobs', job.job_id, '--states=all', '--format=%j %l']).trim().split('\n')).toEqual(['cait-test 5:00', 'cait-test 5:00']);
    // progress across the tasks, on stderr
    expect(r.err).toContain(`cait: submitted Slurm job ${job.job_id}: 6 members in 2 array tasks (0-1); logs ${job.dir}/task_<K>.log\n`);
    expect(r.err).toContain('cait: ensemble 6/6 members (100%)');
    expect(r.out).toMatch(new RegExp(`^ensemble: 6 members, 6 ok, 0 failed; .*engine cpu \\(Slurm job ${job.job_id}, 2 array tasks`));
    // the tasks' results are shard files: cait merge joins them into the same file
    const results = readdirSync(job.dir).filter((f) => /^result_\d\.json$/.test(f)).map((f) => join(job.dir, f));
    expect(results).toHaveLength(2);
    const m = cait(['merge', ...results, '--out', 'array-merged.json']);
    expect(m.code, m.err).toBe(0);
    expect(comparable(read('array-merged.json'))).toEqual(comparable(read('local.json')));
  });

  it('a task that fails is reported with its id and the end of its log; its members are flagged failed, the others kept', () => {
    const template = join(dir, 'failing-template.sh');
    const text = readFileSync(join(ROOT, 'scripts', 'slurm', 'job-template.sh'), 'utf8');
    writeFileSync(template, text.replace('\nexec ', '\nif [ "$SLURM_ARRAY_TASK_ID" = 1 ]; then echo "task 1: simulated failure" >&2; exit 3; fi\nexec '));
    const r = cait(['ensemble', ...GRID, ...SLURM, '--slurm-template', template, '--out', 'failing.json']);
    expect(r.code, r.err).toBe(0);
    const file = read('failing.json');
    const job = file.provenance.executor!.jobs[0];
    expect(job.failed_tasks).toEqual([1]);
    expect(file.provenance.executor!.template).toBe(template);
    expect(taskStates(job.job_id)).toEqual(['0 COMPLETED', '1 FAILED']);
    expect(r.err).toContain(
      `cait: Slurm array task 1 (job ${job.job_id}_1) failed: it ended FAILED (NonZeroExitCode) without writing ${job.dir}/result_1.json; its 3 members (1, 3, 5) are flagged failed. Last lines of ${job.dir}/task_1.log:\n  | task 1: simulated failure\n`,
    );
    expect(file.counts).toEqual({ members: 6, ok: 3, failed: 3 });
    const local = read('local.json');
    file.members.forEach((m, i) => {
      if (i % 2 === 1) {
        expect(m.status).toBe('failed');
        expect(m.reason).toBe(`Slurm array task 1 of job ${job.job_id} ended FAILED (NonZeroExitCode) without writing ${job.dir}/result_1.json`);
        expect(m.values).toEqual(local.members[i].values);
        expect(m.stages).toEqual([]);
      } else expect({ ...m, wall_s: 0 }).toEqual({ ...local.members[i], wall_s: 0 });
    });
    expect(r.out).toContain(`member 1 (stages.0.U_V=10, stages.0.T_K=330) failed: Slurm array task 1 of job ${job.job_id} ended FAILED`);
  });

  it('when every task fails, the run fails (exit 3) and writes nothing', () => {
    const template = join(dir, 'all-fail-template.sh');
    writeFileSync(template, '#!/bin/bash\n{{SBATCH}}\necho "no node here" >&2\nexit 1\n: {{RUN_SHARD}}\n');
    const r = cait(['ensemble', '--preset', 'quick', '--threads', '1', ...SLURM, '--slurm-template', template, '--out', 'all-fail.json']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/\| no node here\n/);
    expect(r.err).toMatch(/cait: error: every task of Slurm job \d+ failed \(task 0: Slurm array task 0 of job \d+ ended FAILED \(NonZeroExitCode\) without writing .*result_0\.json\); see the logs in /);
    expect(existsSync(join(dir, 'all-fail.json'))).toBe(false);
  });

  it('options sbatch refuses: exit 3 with its message, nothing written', () => {
    const r = cait(['ensemble', '--preset', 'quick', ...SLURM, '--slurm-opt', '--partition=nosuchpartition', '--out', 'refused.json']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^cait: error: sbatch refused the job array \(.*\/job\.sh\): invalid partition specified: nosuchpartition; Batch job submission failed: Invalid partition name specified\n$/);
    expect(existsSync(join(dir, 'refused.json'))).toBe(false);
  });

  it('a small fit writes what the local fit writes, each batch one job array', () => {
    // "measured" profiles: the quick protocol at U = 13 V, as CSV
    const cfg = JSON.parse(cait(['config', '--preset', 'quick']).out);
    cfg.stages[0].U_V = 13;
    writeFileSync(join(dir, 'u13.json'), JSON.stringify(cfg));
    expect(cait(['simulate', '--config', 'u13.json', '--out', 'u13-result.json', '--csv', 'measured', '--quiet']).code).toBe(0);
    const fit = ['fit', '--preset', 'quick', '--measured', '1:measured/u13-result_stage1.csv', '--sigma', '0.5', '--window', '1:30', '--vary', 'stages.0.U_V=10:16:3', '--refine', '0', '--no-sens', '--threads', '1', '--quiet'];
    const local = cait([...fit, '--out', 'fit-local']);
    expect(local.code, local.err).toBe(0);
    const onSlurm = cait([...fit, ...SLURM, '--out', 'fit-slurm']);
    expect(onSlurm.code, onSlurm.err).toBe(0);
    const a = read<FitFile>('fit-local/fit.json');
    const b = read<FitFile>('fit-slurm/fit.json');
    const { provenance: pa, phases: _a, ...ra } = a;
    const { provenance: pb, phases: _b, ...rb } = b;
    expect(rb).toEqual(ra);
    expect(b.members.length).toBeGreaterThan(3);
    expect(pb.engine).toBe(pa.engine);
    // every evaluated member ran in exactly one of the jobs, one job per batch
    const jobs = pb.executor!.jobs;
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(jobs.reduce((n, j) => n + j.members, 0)).toBe(b.members.length);
    expect(new Set(jobs.map((j) => j.job_id)).size).toBe(jobs.length);
    for (const j of jobs) expect(taskStates(j.job_id).every((s) => s.endsWith('COMPLETED'))).toBe(true);
    const body = (p: string) => readFileSync(join(dir, p), 'utf8').split('\n').filter((l) => !l.startsWith('#'));
    expect(body('fit-slurm/members.csv')).toEqual(body('fit-local/members.csv'));
  });

  it('cait gsa: a small Sobol study writes what the local study writes, one job array per batch', () => {
    const gsa = ['gsa', '--preset', 'quick', '--vary', 'stages.0.U_V=10:18', '--samples', '4', '--max-depth', '20', '--threads', '1', '--batch', '6', '--quiet'];
    const local = cait([...gsa, '--out', 'gsa-local']);
    expect(local.code, local.err).toBe(0);
    const onSlurm = cait([...gsa, ...SLURM, '--out', 'gsa-slurm']);
    expect(onSlurm.code, onSlurm.err).toBe(0);
    const a = read<any>('gsa-local/gsa.json');
    const b = read<any>('gsa-slurm/gsa.json');
    expect(b.outputs).toEqual(a.outputs);
    expect(b.depth).toEqual(a.depth);
    // 12 runs in batches of 6: two job arrays
    const jobs = b.provenance.executor.jobs;
    expect(jobs.map((j: { members: number }) => j.members)).toEqual([6, 6]);
    for (const j of jobs) expect(taskStates(j.job_id).every((s) => s.endsWith('COMPLETED'))).toBe(true);
    const body = (p: string) => readFileSync(join(dir, p), 'utf8').split('\n').filter((l) => !l.startsWith('#'));
    expect(body('gsa-slurm/outputs.csv')).toEqual(body('gsa-local/outputs.csv'));
  });

  it('Ctrl-C cancels the job array (scancel), exits 130 and writes nothing', async () => {
    // two paper-preset members: long enough to be interrupted while their tasks run
    const child = spawn(process.execPath, [MAIN, 'ensemble', '--preset', 'paper', '--vary', 'stages.0.U_V=10,12', '--threads', '1', ...SLURM, '--out', 'cancelled.json'], { cwd: dir, env });
    let err = '';
    const running = new Promise<string>((res, rej) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /submitted Slurm job (\d+)[\s\S]*Slurm job \1: 2 running/.exec(err);
        if (m) res(m[1]);
      });
      child.on('exit', () => rej(new Error(`ended before its tasks ran: ${err}`)));
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const job = await running;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain(`cait: interrupted; cancelling the Slurm job\ncait: cancelled Slurm job ${job} (scancel)\n`);
    expect(await settledStates(job)).toEqual(['0 CANCELLED', '1 CANCELLED']);
    expect(existsSync(join(dir, 'cancelled.json'))).toBe(false);
  });

  it('stop ends the daemons the script started, by their pid files, and no process that merely has their name', (ctx) => {
    if (!startedHere) ctx.skip(); // a cluster that was running before the tests is left running
    const pids = DAEMONS.map((d) => Number(readFileSync(join(STATE, `${d}.pid`), 'utf8').trim()));
    pids.forEach((p) => expect(running(p), `pid ${p}`).toBe(true));
    // a bystander called slurmd: not in a pid file, so not the script's to end
    const fake = join(dir, 'slurmd');
    copyFileSync('/bin/sleep', fake);
    const bystander = spawn(fake, ['60'], { stdio: 'ignore' });
    try {
      const r = spawnSync('bash', [CLUSTER, 'stop'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      pids.forEach((p) => expect(running(p), `pid ${p}`).toBe(false));
      DAEMONS.forEach((d) => expect(existsSync(join(STATE, `${d}.pid`))).toBe(false));
      expect(readFileSync(`/proc/${bystander.pid}/comm`, 'utf8').trim()).toBe('slurmd');
      expect(running(bystander.pid!)).toBe(true);
      expect(spawnSync('bash', [CLUSTER, 'status']).status).toBe(1);
    } finally {
      bystander.kill();
    }
  });
});
