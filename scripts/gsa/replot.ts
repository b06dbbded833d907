/**
 * Redraw the figures of a `cait gsa` output directory from its gsa.json
 * (after a change of the figure code, or a figure of a few outputs for a
 * document), all files replaced together:
 *
 *   npx tsc -p tsconfig.json
 *   node dist/scripts/gsa/replot.js DIR                                  # indices.svg, depth_*.svg
 *   node dist/scripts/gsa/replot.js DIR --outputs s2_front_Cs_nm,s2_max_Rb --name stage2.svg [--cols 3]
 *   node dist/scripts/gsa/replot.js DIR --min-sd 0.002                   # grey threshold of the depth maps
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomic, type OutputFile } from '../../src/io/atomic.js';
import { gsaFileSchema } from '../../src/gsa/schema.js';
import { DEFAULT_MIN_SD, depthIndices, depthMapSvg, indicesSvg } from '../../src/plot/gsa.js';
import { depthMapFile } from '../../src/cli/gsa.js';

function main(argv: string[]): void {
  const dir = argv[0];
  if (!dir || dir.startsWith('--')) throw new Error('usage: replot.js DIR [--outputs a,b,c --name FILE.svg [--cols N]] [--min-sd X]');
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i > 0 ? argv[i + 1] : undefined;
  };
  const file = gsaFileSchema.parse(JSON.parse(readFileSync(join(dir, 'gsa.json'), 'utf8')));
  const outputs = opt('--outputs')?.split(',');
  const files: OutputFile[] = [];
  if (outputs) {
    const name = opt('--name');
    if (!name) throw new Error('--outputs needs --name FILE.svg');
    for (const o of outputs) if (!file.outputs[o]) throw new Error(`${dir}/gsa.json has no output ${o} (it has ${Object.keys(file.outputs).join(', ')})`);
    files.push({ path: join(dir, name), data: indicesSvg(file, { outputs, cols: Number(opt('--cols') ?? 3) }) });
  } else {
    const minSd = Number(opt('--min-sd') ?? DEFAULT_MIN_SD);
    files.push({ path: join(dir, 'indices.svg'), data: indicesSvg(file) });
    if (file.depth) for (const ix of depthIndices(file)) files.push({ path: join(dir, depthMapFile(ix)), data: depthMapSvg(file, ix, { minSd }) });
  }
  writeFilesAtomic(files);
  for (const f of files) process.stdout.write(`wrote ${f.path}\n`);
}

main(process.argv.slice(2));
