/**
 * Parses and checks a JSON result file off the main thread (a 10 000-member
 * fit with stored profiles is ~30 MB: ~150 ms of JSON.parse) and keeps the
 * bulky per-member profiles here: the page gets the file without them
 * (fit: members[].model; ensemble: the profile fields of members[].stages[])
 * and asks for one member's when it draws it.
 *
 * The file's bytes never pass through the main thread when they come as a
 * File (picker, drop) or a URL (?file=): the worker reads or fetches them.
 *
 * Messages in:  { id, op: 'parse', name, sims, text | blob | url } | { id, op: 'member', member }
 * Messages out: { id, ok: true, loaded } | { id, ok: true, detail } | { id, ok: false, error }
 */
import { parseLoaded, type Loaded, type SimsInputs } from './data.js';
import type { SpeciesSeries } from '../fit/schema.js';
import type { MemberStage } from '../ensemble/types.js';

/** What to parse: its text, a File/Blob to read, or a same-origin URL to fetch. */
export type ParseSource = { text: string } | { blob: Blob } | { url: string };

export type WorkerRequest = ({ id: number; op: 'parse'; name: string; sims: SimsInputs } & ParseSource) | { id: number; op: 'member'; member: number };

/** One member's profiles: a fit member's model per observation, or an ensemble member's stage profiles. */
export type MemberDetail = { kind: 'fit'; model: SpeciesSeries[] | null } | { kind: 'ensemble'; stages: Pick<MemberStage, 'depth_nm' | 'density' | 'potential_V'>[] };

export type WorkerReply = { id: number; ok: true; loaded?: Loaded; detail?: MemberDetail } | { id: number; ok: false; error: string; name?: string };

let fitModels: (SpeciesSeries[] | null)[] | null = null;
let ensProfiles: Pick<MemberStage, 'depth_nm' | 'density' | 'potential_V'>[][] | null = null;

function slim(l: Loaded): Loaded {
  fitModels = null;
  ensProfiles = null;
  if (l.kind === 'fit') {
    fitModels = l.fit.members.map((m) => m.model ?? null);
    for (const m of l.fit.members) delete m.model;
  } else if (l.kind === 'ensemble') {
    ensProfiles = l.ens.members.map((m) =>
      m.stages.map((s) => {
        const p = { depth_nm: s.depth_nm, density: s.density, potential_V: s.potential_V };
        delete s.depth_nm;
        delete s.density;
        delete s.potential_V;
        return p;
      }),
    );
  }
  return l;
}

const post = (r: WorkerReply) => (self as unknown as Worker).postMessage(r);

async function readSource(q: ParseSource & { name: string }): Promise<string> {
  if ('text' in q) return q.text;
  if ('blob' in q) return q.blob.text();
  let r: Response;
  try {
    r = await fetch(q.url);
  } catch (e) {
    throw new Error(`file: could not fetch ${q.name} (${(e as Error).message})`);
  }
  if (!r.ok) throw new Error(`file: could not fetch ${q.name} (HTTP ${r.status})`);
  return r.text();
}

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  const q = ev.data;
  try {
    if (q.op === 'parse') {
      const text = await readSource(q);
      post({ id: q.id, ok: true, loaded: slim(parseLoaded(text, q.name, q.sims)) });
    } else if (q.op === 'member') {
      if (fitModels) post({ id: q.id, ok: true, detail: { kind: 'fit', model: fitModels[q.member] ?? null } });
      else if (ensProfiles) post({ id: q.id, ok: true, detail: { kind: 'ensemble', stages: ensProfiles[q.member] ?? [] } });
      else post({ id: q.id, ok: false, error: 'no file loaded in the parser' });
    }
  } catch (e) {
    post({ id: q.id, ok: false, error: (e as Error).message });
  }
};
