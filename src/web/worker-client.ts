/**
 * The page's client of its parser worker (parse.worker.ts): files are
 * parsed off the main thread, and a parsed file's per-member profiles stay
 * in the worker until a view needs them. One instance per page.
 *
 * @example
 * const client = new ParseClient();
 * if (client.available()) { const r = await client.parse({ text }, 'fit.json', {}); client.loaded(true); }
 * await client.ensureFitModel(fit, 3); // member 3's model, fetched from the worker once
 */
import type { EnsembleFile } from '../ensemble/output.js';
import type { FitFile } from '../fit/schema.js';
import type { SimsInputs } from './data.js';
import type { MemberDetail, ParseSource, WorkerReply, WorkerRequest } from './parse.worker.js';

type Ask = ({ op: 'parse'; name: string; sims: SimsInputs } & ParseSource) | { op: 'member'; member: number };

export class ParseClient {
  private worker: Worker | null = null;
  private tried = false;
  private nextId = 1;
  private readonly pending = new Map<number, { ok: (r: WorkerReply) => void; fail: (e: Error) => void }>();
  /** the shown file came through the worker, which keeps its members' profiles */
  private profilesInWorker = false;
  /** members whose profiles were fetched already */
  private readonly fetched = new Set<number>();

  /** Is there a worker (always in a browser; not where workers cannot start)? */
  available(): boolean {
    return this.get() !== null;
  }

  private get(): Worker | null {
    if (this.worker || this.tried) return this.worker;
    this.tried = true;
    try {
      const w = new Worker(new URL('./parse.worker.ts', import.meta.url), { type: 'module' });
      w.onmessage = (ev: MessageEvent<WorkerReply>) => {
        const p = this.pending.get(ev.data.id);
        this.pending.delete(ev.data.id);
        p?.ok(ev.data);
      };
      w.onerror = (ev) => {
        for (const p of this.pending.values()) p.fail(new Error(`parser worker: ${ev.message}`));
        this.pending.clear();
      };
      this.worker = w;
    } catch {
      this.worker = null; // no workers here: the page parses on the main thread
    }
    return this.worker;
  }

  private ask(q: Ask): Promise<WorkerReply> {
    const w = this.get();
    if (!w) return Promise.reject(new Error('no parser worker'));
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      w.postMessage({ ...q, id } as WorkerRequest);
    });
  }

  /** Parse a text, File or same-origin URL in the worker. */
  parse(src: ParseSource, name: string, sims: SimsInputs): Promise<WorkerReply> {
    return this.ask({ op: 'parse', name, sims, ...src });
  }

  /** A new file is shown: `viaWorker` says whether its profiles are in the worker. */
  loaded(viaWorker: boolean): void {
    this.profilesInWorker = viaWorker;
    this.fetched.clear();
  }

  private async memberDetail(member: number): Promise<MemberDetail | null> {
    if (!this.profilesInWorker || this.fetched.has(member)) return null;
    const r = await this.ask({ op: 'member', member });
    if (!r.ok) throw new Error(r.error);
    this.fetched.add(member);
    return r.detail ?? null;
  }

  /** Put a fit member's model (kept by the worker) back on the member before it is drawn. */
  async ensureFitModel(fit: FitFile, member: number | null): Promise<void> {
    if (member === null || !fit.members[member]) return;
    const d = await this.memberDetail(member);
    if (d?.kind === 'fit' && d.model) fit.members[member].model = d.model;
  }

  /** Put ensemble members' stage profiles (kept by the worker) back before they are drawn. */
  async ensureEnsembleProfiles(ens: EnsembleFile, members: readonly number[]): Promise<void> {
    for (const i of members) {
      const d = await this.memberDetail(i);
      if (d?.kind === 'ensemble') d.stages.forEach((p, k) => ens.members[i]?.stages[k] && Object.assign(ens.members[i].stages[k], p));
    }
  }
}
