/**
 * The request file `cait-request/1`: an ensemble request written by the
 * submitting node for the tasks of a job array (`cait run-shard --request
 * FILE --shard K/N`). It holds the base protocol, the parameter paths and the
 * member × parameter values (not the member protocols: a task rebuilds each
 * member as the sweep does, src/sweep/grid.ts makeMember), the profiles
 * level, the design, and a fit's observations.
 *
 *   { "schema": "cait-request/1", "version", "design": "grid"|"lhs", "seed"?,
 *     "profiles", "base": <protocol>, "parameters": [paths], "values": [[...]],
 *     "observations"?: [...], "keepModel"?: bool }
 */
import { z } from 'zod';
import { parseJson, parseProtocol, parseWithSchema } from '../config/validate.js';
import { InputError } from '../core/errors.js';
import { canonicalJson, packageVersion } from '../io/result.js';
import { PROFILES_LEVELS, type EnsembleRequest, type ProfilesLevel } from '../ensemble/types.js';
import type { Observation } from '../observe/observe.js';
import { makeMember } from '../sweep/grid.js';
import { ensembleIdentity, shardMembers, type Design, type ShardSpec } from './shard.js';
import type { EnsembleIdentity } from '../ensemble/output.js';

export const REQUEST_SCHEMA = 'cait-request/1';

export interface RequestFile {
  schema: typeof REQUEST_SCHEMA;
  version: string;
  design: 'grid' | 'lhs';
  seed?: number;
  profiles: ProfilesLevel;
  base: unknown;
  parameters: string[];
  values: number[][];
  observations?: Observation[];
  keepModel?: boolean;
}


/**
 * The text of a request's file. The request's members must be what the
 * sweep builds from its base and values (they are rebuilt from them on the
 * nodes); a member that is not is an Error naming it.
 */
export function requestFileText(req: EnsembleRequest, design: Design): string {
  req.members.forEach((m, i) => {
    if (canonicalJson(m) !== canonicalJson(makeMember(req.base, req.parameters, req.values[i], req.parameters, i)))
      throw new Error(`member ${i} of the request is not its base with its values at the parameter paths: it cannot be rebuilt on the nodes`);
  });
  const f: RequestFile = {
    schema: REQUEST_SCHEMA,
    version: packageVersion(),
    design: design.design,
    profiles: req.profiles,
    base: req.base,
    parameters: req.parameters,
    values: req.values,
  };
  if (design.seed !== undefined) f.seed = design.seed;
  if (req.observations) f.observations = req.observations;
  if (req.keepModel !== undefined) f.keepModel = req.keepModel;
  return JSON.stringify(f) + '\n';
}

const finiteRow = z.array(z.number());
const requestSchema = z.object({
  schema: z.literal(REQUEST_SCHEMA, { error: `schema must be "${REQUEST_SCHEMA}"` }),
  version: z.string(),
  design: z.enum(['grid', 'lhs']),
  seed: z.number().int().optional(),
  profiles: z.enum(PROFILES_LEVELS as unknown as ['none', 'final', 'all']),
  base: z.unknown(),
  parameters: z.array(z.string()),
  values: z.array(finiteRow),
  observations: z.array(z.custom<Observation>((o) => o !== null && typeof o === 'object')).optional(),
  keepModel: z.boolean().optional(),
});

/**
 * Read a request file: the identity of the whole ensemble, its design, and
 * the request of shard `spec` (all members without it), its members rebuilt
 * and validated. A file from another version is refused (its members could
 * differ).
 */
export function parseRequestFile(text: string, label: string, spec: ShardSpec = { index: 0, count: 1 }): { part: EnsembleRequest; identity: EnsembleIdentity; design: Design } {
  const f = parseWithSchema(requestSchema, parseJson(text, label), label);
  if (f.version !== packageVersion()) throw new InputError(`${label}: written by cait-ensemble ${f.version}, this is ${packageVersion()}: run the same version on every node`);
  const base = parseProtocol(f.base, `${label}: base`);
  f.values.forEach((row, i) => {
    if (row.length !== f.parameters.length) throw new InputError(`${label}: values.${i}: ${row.length} values for ${f.parameters.length} parameters`);
  });
  const whole: Omit<EnsembleRequest, 'members'> = { base, parameters: f.parameters, values: f.values, profiles: f.profiles };
  if (f.observations) whole.observations = f.observations;
  if (f.keepModel !== undefined) whole.keepModel = f.keepModel;
  const design: Design = f.seed !== undefined ? { design: f.design, seed: f.seed } : { design: f.design };
  // only the shard's members are rebuilt: a task of a large ensemble needs no others
  const idx = shardMembers(f.values.length, spec);
  const part: EnsembleRequest = { ...whole, values: idx.map((i) => f.values[i]), members: idx.map((i) => makeMember(base, f.parameters, f.values[i], f.parameters, i)) };
  return { part, identity: ensembleIdentity(whole, design), design };
}
