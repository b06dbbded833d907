/**
 * The Slurm executor: an EnsembleEngine that runs each request as ONE Slurm
 * job array. The submitting node writes the request (src/cluster/request.ts)
 * and a job script (a template, scripts/slurm/job-template.sh, filled in)
 * into a batch directory, submits it with `sbatch`, and waits, polling the
 * tasks' progress files and `squeue`. Each array task K runs `cait run-shard
 * --shard K/N` with the engine options of the command and writes its shard
 * (a `cait-ensemble/1` shard file); the engine joins the shards in member
 * order (src/cluster/merge.ts). A task that fails is reported with its task
 * id and the end of its log, and its members come back flagged failed; the
 * others are kept. `cancel()` (Ctrl-C) runs `scancel`.
 *
 * Because it is an EnsembleEngine, `cait fit` runs each of its batches (grid,
 * refinement rounds, interval and sensitivity members) as such an array with
 * the fit loop on the submitting node, with no special case in the fit code.
 *
 * @example
 * const engine = new SlurmEngine({ tasks: 4, sbatch: ['--partition=gpu', '--gres=gpu:1'], … });
 * const res = await engine.run(req);   // members in request order, as a local engine returns them
 * engine.record();                      // { kind: 'slurm', jobs: [{ job_id: '123', tasks: 4, … }], … }
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, RunAbortedError, throwIfAborted } from '../core/errors.js';
import { SolverError } from '../solver/types.js';
import { canonicalJson } from '../io/result.js';
import { writeFilesAtomic } from '../io/atomic.js';
import type { EnsembleEngine, EnsembleProgress, EnsembleRequest, EnsembleResult, EnsembleRunOptions, MemberStatus } from '../ensemble/types.js';
import type { EnsembleFile, ExecutorRecord, MemberEntry } from '../ensemble/output.js';
import { ensembleIdentity, shardMembers, type Design } from './shard.js';
import { checkShards, entryToResult, joinMembers, parseShardFile, type ShardInput } from './merge.js';
import { requestFileText } from './request.js';

/** The engine options every task runs with (as `--engine`, `--adapter`, `--threads` spell them). */
export interface TaskEngineOptions {
  engine: string;
  adapter: string;
  threads?: number;
}

export interface SlurmOptions {
  /** the most array tasks of one batch (`--slurm-array N`); a batch of fewer members gets one task per member */
  tasks: number;
  /** sbatch options (each --slurm-opt split into options), written as #SBATCH lines */
  sbatch: string[];
  /** the --slurm-opt values as given, for provenance */
  sbatchGiven: string[];
  /** the job template's text, and `default` or its file */
  template: { text: string; source: string };
  /** where the batch directories go (a filesystem the nodes share) */
  dir: string;
  /** the engine of the tasks */
  engine: TaskEngineOptions;
  /** how the nodes run cait (argv: node and the cait script) */
  cait: string[];
  /** seconds between two `squeue` polls (the progress files are read every second) */
  pollSeconds: number;
  /** a line for stderr (submission, task states, failures) */
  log(line: string): void;
  /** log only failures */
  quiet?: boolean;
  /** environment of sbatch, squeue and scancel (default: this process's) */
  env?: NodeJS.ProcessEnv;
  /** the design recorded in the shards (default grid) */
  design?: Design;
}

/** Options the executor sets itself: a --slurm-opt may not set them. */
const RESERVED = ['--array', '-a', '--output', '-o', '--error', '-e', '--wait', '-W', '--parsable', '--chdir', '-D', '--open-mode', '--export-file'];

/**
 * Split --slurm-opt values into sbatch options: `"--partition=gpu --gres=gpu:1"`
 * → `['--partition=gpu', '--gres=gpu:1']`; a word that does not start with
 * `-` belongs to the option before it (`"-p gpu"` → `['-p gpu']`). Options
 * the executor sets (the array, logs, …) are refused.
 */
export function splitSbatchOptions(given: readonly string[]): string[] {
  const out: string[] = [];
  for (const g of given) {
    for (const word of g.trim().split(/\s+/).filter(Boolean)) {
      if (word.startsWith('-')) {
        const name = word.split('=')[0];
        if (RESERVED.includes(name) || RESERVED.some((r) => r.length === 2 && name.startsWith(r) && name.length > 2 && !name.startsWith('--')))
          throw new InputError(`--slurm-opt ${g}: ${name} is set by cait (the array, the logs, the waiting); leave it out`);
        if (/[\n#]/.test(word)) throw new InputError(`--slurm-opt ${g}: ${word} cannot be an #SBATCH option`);
        out.push(word);
      } else {
        if (out.length === 0 || out[out.length - 1].includes(' ') || out[out.length - 1].includes('='))
          throw new InputError(`--slurm-opt ${g}: "${word}" is not an option (options start with -, e.g. --partition=gpu)`);
        out[out.length - 1] += ` ${word}`;
      }
    }
  }
  return out;
}

/** Whether the sbatch options set `--NAME` (or its short form). */
function sets(opts: readonly string[], long: string, short?: string): boolean {
  return opts.some((o) => o.split(/[= ]/)[0] === long || (short !== undefined && (o === short || o.startsWith(`${short} `) || (o.startsWith(short) && !o.startsWith('--')))));
}

/** A word quoted for the shell when it needs it. */
export function shellQuote(w: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

const PLACEHOLDERS = ['SBATCH', 'DIR', 'CAIT', 'RUN_SHARD'] as const;

/** Check a job template: the placeholders it must hold, none unknown. Throws an InputError naming its source. */
export function checkTemplate(text: string, source: string): void {
  const found = [...text.matchAll(/\{\{([^}]*)\}\}/g)].map((m) => m[1]);
  const unknown = found.filter((f) => !(PLACEHOLDERS as readonly string[]).includes(f));
  if (unknown.length) throw new InputError(`--slurm-template ${source}: unknown placeholder {{${unknown[0]}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
  for (const p of ['SBATCH', 'RUN_SHARD'])
    if (!found.includes(p)) throw new InputError(`--slurm-template ${source}: {{${p}}} is missing (the script must carry the array options and run the task's shard)`);
  if (!text.startsWith('#!')) throw new InputError(`--slurm-template ${source}: the first line must be an interpreter line such as #!/bin/bash`);
}

/** A batch directory that #SBATCH lines can name (they cannot quote). */
export function checkBatchRoot(dir: string): void {
  if (!/^[A-Za-z0-9_./+:@,=-]+$/.test(dir))
    throw new InputError(`--slurm-dir ${dir}: use a path without spaces or shell characters (#SBATCH --output cannot quote it)`);
}

/**
 * The job script of a batch of `members` members in `dir`: the template with
 * the #SBATCH lines (job name, array 0..tasks−1, log task_<K>.log, CPUs per
 * task, the --slurm-opt options) and the `cait run-shard` command.
 */
export function jobScript(o: Pick<SlurmOptions, 'sbatch' | 'template' | 'engine' | 'cait'>, dir: string, tasks: number): string {
  const lines = [];
  if (!sets(o.sbatch, '--job-name', '-J')) lines.push('--job-name=cait');
  lines.push(`--array=0-${tasks - 1}`, `--output=${dir}/task_%a.log`);
  const cpus = sets(o.sbatch, '--cpus-per-task', '-c');
  if (!cpus) lines.push(`--cpus-per-task=${o.engine.engine === 'cpu' ? (o.engine.threads ?? 1) : 1}`);
  lines.push(...o.sbatch);
  const run = [
    '--request request.json',
    `--shard "$SLURM_ARRAY_TASK_ID/${tasks}"`,
    '--out "result_$SLURM_ARRAY_TASK_ID.json"',
    '--progress "progress_$SLURM_ARRAY_TASK_ID.jsonl"',
    `--engine ${shellQuote(o.engine.engine)}`,
    `--adapter ${shellQuote(o.engine.adapter)}`,
  ];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion for the job script, not a template
  if (o.engine.engine === 'cpu') run.push(o.engine.threads !== undefined && !cpus ? `--threads ${o.engine.threads}` : '--threads "${SLURM_CPUS_PER_TASK:-1}"');
  const fill: Record<(typeof PLACEHOLDERS)[number], string> = {
    SBATCH: lines.map((l) => `#SBATCH ${l}`).join('\n'),
    DIR: shellQuote(dir),
    CAIT: o.cait.map(shellQuote).join(' '),
    RUN_SHARD: run.join(' '),
  };
  return o.template.text.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: (typeof PLACEHOLDERS)[number]) => fill[k]);
}

/** Run a command; resolves with its stdout, rejects with an Error carrying its stderr. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv | undefined, cwd?: string): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { env, cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return res(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return rej(new SolverError(`${cmd} not found: --executor slurm needs Slurm's commands (sbatch, squeue, scancel) on this machine's PATH`));
      rej(Object.assign(new Error(`${cmd}: ${(stderr || err.message).trim().replace(/\s*\n\s*/g, '; ')}`), { stderr }));
    });
  });
}

/** Slurm job states in which a task has ended. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED', 'UNKNOWN']);

/** Task ids of squeue's %K field: `3`, `0-4`, `[0-3,7]`, `0-9%2`. */
function taskIds(field: string): number[] {
  const out: number[] = [];
  for (const part of field.replace(/[[\]]/g, '').replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let k = a; k <= b; k += step) out.push(k);
  }
  return out;
}

interface TaskState {
  state: string;
  reason: string;
}

/** Reads the lines a task appends to its progress file (one finished member per line). */
class ProgressTail {
  private offset = 0;
  private rest = '';
  /** the task's latest runningByStage */
  running: number[] = [];

  constructor(readonly path: string) {}

  /** Complete lines written since the last call. */
  read(): { i: number; s: MemberStatus; r?: string }[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size <= this.offset) return [];
    const fd = openSync(this.path, 'r');
    const buf = Buffer.alloc(size - this.offset);
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const text = this.rest + buf.toString('utf8');
    const cut = text.lastIndexOf('\n');
    this.rest = text.slice(cut + 1);
    const out: { i: number; s: MemberStatus; r?: string }[] = [];
    for (const line of text.slice(0, cut + 1).split('\n')) {
      if (!line) continue;
      try {
        const v = JSON.parse(line) as { i: number; s: MemberStatus; r?: string; run?: number[] };
        if (Array.isArray(v.run)) this.running = v.run;
        if (Number.isInteger(v.i)) out.push(v);
      } catch {
        /* a line that is not JSON is skipped: progress only */
      }
    }
    return out;
  }
}

/** What an abort of this executor's run names. */
const ABORTED = 'the Slurm run';

/** The last `n` lines of a file (for the report of a failed task). */
function tail(path: string, n: number): string[] {
  if (!existsSync(path)) return [`(no log at ${path})`];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Members listed as `1, 3, 5` (the first 8, then how many more). */
function memberList(idx: number[]): string {
  return idx.length <= 8 ? idx.join(', ') : `${idx.slice(0, 8).join(', ')}, … (${idx.length} in all)`;
}

/** The EnsembleEngine that runs each request as one Slurm job array. */
export class SlurmEngine implements EnsembleEngine {
  readonly name: string;
  private readonly jobs: ExecutorRecord['jobs'] = [];
  /** the job id of the array now running, or the sbatch that is submitting it */
  private current?: Promise<string | undefined>;

  constructor(private readonly o: SlurmOptions) {
    this.name = o.engine.engine;
    checkBatchRoot(resolve(o.dir));
  }

  get adapter(): string {
    return `Slurm job arrays of up to ${this.o.tasks} tasks, engine ${this.o.engine.engine}`;
  }

  /** What ran so far: every job array, for the output's provenance. */
  record(): ExecutorRecord {
    return { kind: 'slurm', jobs: this.jobs.map((j) => ({ ...j, failed_tasks: [...j.failed_tasks] })), sbatch_options: [...this.o.sbatchGiven], template: this.o.template.source };
  }

  /** The script a batch of `members` members would be submitted with (--dry-run). */
  script(members: number): string {
    return jobScript(this.o, join(resolve(this.o.dir), 'batch-XXXXXX'), Math.max(1, Math.min(this.o.tasks, members)));
  }

  /** Cancels a job array still running (a caller that gives up mid-run); nothing else to release. Idempotent. */
  async close(): Promise<void> {
    await this.cancel();
  }

  /** Cancel the job array now running (Ctrl-C); resolves when scancel has answered. */
  async cancel(): Promise<string | undefined> {
    // an sbatch in flight is waited for: its job must not run on unseen
    const id = await this.current?.catch(() => undefined);
    if (id === undefined) return undefined;
    try {
      await run('scancel', [id], this.o.env);
    } catch (e) {
      this.o.log(`cait: scancel ${id} failed: ${(e as Error).message}`);
    }
    return id;
  }

  async run(req: EnsembleRequest, opts: EnsembleRunOptions = {}): Promise<EnsembleResult> {
    const t0 = Date.now();
    const total = req.values.length;
    const nStages = req.base.stages.length;
    if (total === 0) return { engine: this.name, adapter: this.adapter, members: [], wall_s: 0 };
    const design = this.o.design ?? { design: 'grid' };
    const tasks = Math.min(this.o.tasks, total);
    mkdirSync(this.o.dir, { recursive: true });
    const dir = mkdtempSync(join(resolve(this.o.dir), 'batch-'));
    const identity = ensembleIdentity(req, design);
    writeFilesAtomic([
      { path: join(dir, 'request.json'), data: requestFileText(req, design) },
      { path: join(dir, 'job.sh'), data: jobScript(this.o, dir, tasks) },
    ]);
    throwIfAborted(opts.signal, ABORTED);

    const submitted = run('sbatch', ['--parsable', 'job.sh'], this.o.env, dir).then(
      (out) => {
        const id = out.trim().split(';')[0];
        if (!/^\d+$/.test(id)) throw new SolverError(`sbatch answered "${out.trim()}", not a job id`);
        return id;
      },
      (e: Error) => {
        if (e instanceof SolverError) throw e;
        throw new SolverError(`sbatch refused the job array (${dir}/job.sh): ${e.message.replace(/sbatch: (error: )?/g, '')}`);
      },
    );
    this.current = submitted;
    let jobId: string;
    try {
      jobId = await submitted;
    } catch (e) {
      this.current = undefined;
      throw e;
    }
    const job = { job_id: jobId, tasks, members: total, failed_tasks: [] as number[], dir };
    this.jobs.push(job);
    writeFilesAtomic([{ path: join(dir, 'job_id'), data: `${jobId}\n` }]);
    if (!this.o.quiet)
      this.o.log(`cait: submitted Slurm job ${jobId}: ${total} member${total === 1 ? '' : 's'} in ${tasks} array task${tasks === 1 ? '' : 's'} (0-${tasks - 1}); logs ${dir}/task_<K>.log`);

    try {
      const states = await this.wait(jobId, dir, tasks, total, nStages, t0, opts);
      return this.collect(req, identity, jobId, dir, tasks, states, t0, opts, job.failed_tasks);
    } finally {
      this.current = undefined;
    }
  }

  /** Poll until every task has ended (or written its result); reports progress. Returns the tasks' last states. */
  private async wait(jobId: string, dir: string, tasks: number, total: number, nStages: number, t0: number, opts: EnsembleRunOptions): Promise<Map<number, TaskState>> {
    const tails = Array.from({ length: tasks }, (_, k) => new ProgressTail(join(dir, `progress_${k}.jsonl`)));
    const states = new Map<number, TaskState>();
    let done = 0;
    let failed = 0;
    let lastPoll = -Infinity;
    let lastLine = '';
    let pollErrors = 0;
    let unlisted = 0;
    /** the controller no longer lists the job: its tasks have ended, how is not known */
    const forget = () => {
      for (let k = 0; k < tasks; k++) if (!ENDED.has(states.get(k)?.state ?? '')) states.set(k, { state: 'UNKNOWN', reason: 'no longer listed by squeue' });
    };
    let endedAt: number | undefined;
    const pollMs = Math.max(0.2, this.o.pollSeconds) * 1000;
    // report the members the tasks' progress files list since the last look
    const drain = () => {
      for (const t of tails)
        for (const ev of t.read()) {
          done++;
          if (ev.s === 'failed') failed++;
          const runningByStage = new Array<number>(nStages).fill(0);
          for (const u of tails) u.running.forEach((n, k) => k < nStages && (runningByStage[k] += n));
          const finished: EnsembleProgress['finished'] = { index: ev.i, status: ev.s };
          if (ev.r !== undefined) finished.reason = ev.r;
          opts.onProgress?.({ done: Math.min(done, total), total, failed, elapsed_s: (Date.now() - t0) / 1000, runningByStage, finished });
        }
    };
    for (;;) {
      if (opts.signal?.aborted) {
        await this.cancel();
        throw new RunAbortedError(ABORTED, opts.signal.reason);
      }
      drain();
      const results = Array.from({ length: tasks }, (_, k) => existsSync(join(dir, `result_${k}.json`)));
      if (results.every(Boolean)) {
        // a task writes its progress lines before its result
        drain();
        return states;
      }
      const now = Date.now();
      if (now - lastPoll >= pollMs) {
        lastPoll = now;
        let active = 0;
        try {
          const text = await run('squeue', ['--noheader', '--array', '--jobs', jobId, '--states=all', '--format=%K|%T|%r'], this.o.env);
          pollErrors = 0;
          let listed = 0;
          for (const line of text.split('\n')) {
            const [ids, state, reason] = line.trim().split('|');
            if (!ids || !state) continue;
            for (const k of taskIds(ids)) states.set(k, { state, reason: reason ?? '' });
            listed++;
          }
          // a job the controller has forgotten: listed no more, three polls in a row
          if (listed === 0 && ++unlisted >= 3) forget();
          if (listed > 0) unlisted = 0;
          for (let k = 0; k < tasks; k++) if (!ENDED.has(states.get(k)?.state ?? 'PENDING')) active++;
        } catch (e) {
          const msg = (e as Error).message;
          if (/Invalid job id/i.test(msg)) {
            // the controller no longer knows the job: every task has ended
            forget();
          } else {
            if (pollErrors++ === 0) this.o.log(`cait: squeue failed (${msg}); still waiting for job ${jobId}`);
            active = tasks;
          }
        }
        if (!this.o.quiet) {
          // tasks per state, in the order they first appear: `1 running, 1 completed, 1 failed`
          const byState = new Map<string, number>();
          for (let k = 0; k < tasks; k++) {
            const st = states.get(k)?.state;
            if (st === undefined) continue;
            const word = st === 'CONFIGURING' || st === 'COMPLETING' ? 'running' : st.toLowerCase().replace(/_/g, ' ');
            byState.set(word, (byState.get(word) ?? 0) + 1);
          }
          const parts = [...byState].map(([w, n]) => `${n} ${w}`);
          const line = `cait: Slurm job ${jobId}: ${parts.join(', ') || 'waiting'} (of ${tasks} tasks); ${done}/${total} members done`;
          if (line !== lastLine && states.size) this.o.log(line);
          lastLine = line;
        }
        if (active === 0 && states.size >= tasks) {
          // every task has ended: a result may take a moment to appear on a network filesystem
          endedAt ??= now;
          if (now - endedAt >= Math.min(5000, 2 * pollMs)) {
            drain();
            return states;
          }
        }
      }
      await sleep(Math.min(1000, pollMs), opts.signal);
    }
  }

  /** Read the tasks' shards, flag the members of failed tasks, join them in request order. */
  private collect(
    req: EnsembleRequest,
    identity: ReturnType<typeof ensembleIdentity>,
    jobId: string,
    dir: string,
    tasks: number,
    states: Map<number, TaskState>,
    t0: number,
    opts: EnsembleRunOptions,
    failedTasks: number[],
  ): EnsembleResult {
    const total = req.values.length;
    const shards: (ShardInput | undefined)[] = [];
    const why: string[] = [];
    for (let k = 0; k < tasks; k++) {
      const path = join(dir, `result_${k}.json`);
      const st = states.get(k);
      let problem: string | undefined;
      if (!existsSync(path)) problem = `${st ? `ended ${st.state}${st.reason && st.reason !== 'None' ? ` (${st.reason})` : ''}` : 'ended'} without writing ${path}`;
      else
        try {
          const file: EnsembleFile = parseShardFile(readFileSync(path, 'utf8'), path);
          const sh = file.shard!;
          if (sh.index !== k || sh.count !== tasks || canonicalJson(sh.ensemble) !== canonicalJson(identity))
            problem = `wrote ${path}, which is not shard ${k}/${tasks} of this request`;
          else {
            const idx = shardMembers(total, sh);
            const bad = file.members.findIndex((m, j) => canonicalJson(m.values) !== canonicalJson(req.values[idx[j]]));
            if (bad >= 0) problem = `wrote ${path} with values for member ${idx[bad]} that are not the request's`;
            else shards[k] = { label: path, file };
          }
        } catch (e) {
          problem = `wrote an unreadable ${path}: ${(e as Error).message}`;
        }
      if (problem !== undefined) {
        failedTasks.push(k);
        const idx = shardMembers(total, { index: k, count: tasks });
        why[k] = `Slurm array task ${k} of job ${jobId} ${problem}`;
        const log = join(dir, `task_${k}.log`);
        this.o.log(
          `cait: Slurm array task ${k} (job ${jobId}_${k}) failed: it ${problem}; its ${idx.length} member${idx.length === 1 ? '' : 's'} (${memberList(idx)}) are flagged failed. Last lines of ${log}:\n` +
            tail(log, 12)
              .map((l) => `  | ${l}`)
              .join('\n'),
        );
      }
    }
    const present = shards.filter((s): s is ShardInput => s !== undefined);
    if (present.length === 0)
      throw new SolverError(`every task of Slurm job ${jobId} failed (task 0: ${why[0]}); see the logs in ${dir}`);
    checkShards(present, { allowMissing: true });
    const entries = joinMembers<MemberEntry>(total, tasks, (k) =>
      shards[k]
        ? shards[k]!.file.members
        : shardMembers(total, { index: k, count: tasks }).map((i) => ({ values: req.values[i], status: 'failed', reason: why[k], cells: 0, wall_s: 0, stages: [] })),
    );
    const members = entries.map(entryToResult);
    // the progress files report the members of the tasks that ran; this completes the count
    opts.onProgress?.({
      done: total,
      total,
      failed: members.filter((m) => m.status === 'failed').length,
      elapsed_s: (Date.now() - t0) / 1000,
      runningByStage: new Array<number>(req.base.stages.length).fill(0),
    });
    const adapters = [...new Set(present.map((s) => s.file.adapter))].join('; ');
    return {
      engine: present[0].file.engine,
      adapter: `Slurm job ${jobId}, ${tasks} array task${tasks === 1 ? '' : 's'}: ${adapters}`,
      members,
      wall_s: (Date.now() - t0) / 1000,
    };
  }
}
