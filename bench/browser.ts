/**
 * The browser engine next to the Node engine on the same adapter.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/browser.js -- [--protocol reduced|paper]
 *       [--members 16] [--repeats 3] [--browser-engine webgpu|gpujs] [--web-root dist-web]
 *
 * Same members for both: the protocol with D(Cs+) of stage 2 spread
 * geometrically over 2.4e-23..3.8e-23 m²/s, profiles `none`. `reduced` is the
 * CI-sized protocol of tests/gpu-engine.test.ts (≈100 cells, 0.63 + 0.57 mC).
 * Browser: headless Chromium's WebGPU through `cait headless`'s BrowserEngine
 * (the page built by `npm run build`); Node: the WebGPU engine on Dawn with
 * SwiftShader, the adapter Chromium uses without a GPU. One untimed warm-up
 * run each (pipeline compilation), then `--repeats` timed runs: members/s =
 * members / wall time, min and median; for the browser both the time seen
 * from Node (request and result transfer included) and the page's engine time.
 * The two engines' stage durations are compared as a sanity check.
 */
import { join } from 'node:path';
import type { Protocol } from '../src/config/schema.js';
import { requestFromGrid, type EnsembleEngine, type EnsembleRequest, type EnsembleResult } from '../src/ensemble/types.js';
import { WebGpuEngine } from '../src/gpu/engine.js';
import { openNodeDevice } from '../src/gpu/node.js';
import { webGpuEngineShaders } from '../src/gpu/node-shaders.js';
import { BrowserEngine } from '../src/headless/engine.js';
import { packageRoot } from '../src/headless/browser.js';
import { buildGrid, parseVary } from '../src/sweep/index.js';
import type { EngineChoice } from '../src/ensemble/wire/protocol.js';
import { arg, benchProtocol } from './common.js';


const protocolName = arg('protocol', 'reduced');
const members = Number(arg('members', '16'));
const repeats = Math.max(3, Number(arg('repeats', '3')));
const browserEngine = arg('browser-engine', 'webgpu') as EngineChoice;
const webRoot = arg('web-root', join(packageRoot(), 'dist-web'));

const protocol = (): Protocol => benchProtocol(protocolName);

function request(): EnsembleRequest {
  const base = protocol();
  const grid = buildGrid(base, members > 1 ? [parseVary(`stages.1.D.Cs.D_m2s=2.4e-23:3.8e-23:${members}:log`)] : []);
  return requestFromGrid(grid, base, 'none');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Timing {
  outside: number[];
  engine: number[];
  last: EnsembleResult;
}

async function timeEngine(label: string, engine: EnsembleEngine): Promise<Timing> {
  const req = request();
  process.stderr.write(`${label}: warm-up run (${req.members.length} members) ...\n`);
  let last = await engine.run(req);
  const outside: number[] = [];
  const inner: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    last = await engine.run(req);
    outside.push((performance.now() - t0) / 1000);
    inner.push(last.wall_s);
    process.stderr.write(`${label}: run ${r + 1}/${repeats}: ${outside[r].toFixed(2)} s\n`);
  }
  return { outside, engine: inner, last };
}

/** "wall min 6.35 s, median 7.92 s = 2.520 / 2.020 members/s" (the min wall time is the best rate). */
function rates(walls: number[]): string {
  const lo = Math.min(...walls);
  const med = median(walls);
  return `wall min ${lo.toFixed(2)} s, median ${med.toFixed(2)} s = ${(members / lo).toFixed(3)} / ${(members / med).toFixed(3)} members/s`;
}

const gpu = await openNodeDevice('swiftshader');
let node: Timing;
let nodeAdapter: string;
const nodeEngine = new WebGpuEngine(gpu, { ...webGpuEngineShaders(), ownsDevice: true });
try {
  nodeAdapter = nodeEngine.adapter;
  node = await timeEngine('Node', nodeEngine);
} finally {
  nodeEngine.close();
}

const browser = await BrowserEngine.open({ webRoot, engine: browserEngine, onPageError: (l) => process.stderr.write(`browser: ${l}\n`) });
let web: Timing;
try {
  web = await timeEngine('browser', browser);
} finally {
  await browser.close();
}

let worst = 0;
node.last.members.forEach((m, i) => {
  m.stages.forEach((st, k) => {
    const b = web.last.members[i].stages[k];
    worst = Math.max(worst, Math.abs(b.duration_s / st.duration_s - 1));
  });
});
const failed = (r: EnsembleResult) => r.members.filter((m) => m.status === 'failed').length;

const cells = node.last.members[0]?.cells ?? 0;
process.stdout.write(
  [
    `browser bench: protocol ${protocolName} (${cells} cells, ${protocol().stages.length} stages), ${members} members, profiles none, ${repeats} timed repeats after one warm-up`,
    `Node    webgpu on ${nodeAdapter}: ${rates(node.outside)}; failed ${failed(node.last)}`,
    `browser ${browser.name} on ${browser.adapter}:`,
    `        seen from Node (transfer included): ${rates(web.outside)}; failed ${failed(web.last)}`,
    `        engine time in the page:            ${rates(web.engine)}`,
    `browser / Node (median members/s): ${(median(node.outside) / median(web.outside)).toFixed(3)}`,
    `largest relative difference of a stage duration, browser vs Node: ${worst.toExponential(2)}`,
    '',
  ].join('\n'),
);
