/**
 * SIMS import (src/sims, `cait sims`): the hand-made files in
 * tests/fixtures/sims in each format, numbers checked by hand, malformed
 * input naming line and column, and the CLI end to end (in-process).
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/main.js';
import { ELEMENTARY_CHARGE } from '../src/physics/constants.js';
import { deadTimeCorrect, detectFormat, importSims, interpLinear, parseCsv, parseSims, poissonCorrect, processProfile, profileIntegral, elementOf, Lines } from '../src/sims/index.js';

const FIX = fileURLToPath(new URL('./fixtures/sims/', import.meta.url));
const read = (f: string) => readFileSync(join(FIX, f), 'utf8');

function expectInputError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an InputError').toBeInstanceOf(Error);
  expect((err as Error).name).toBe('InputError');
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('labels and helpers', () => {
  it('maps channel labels to elements', () => {
    expect(elementOf('7Li+')).toBe('Li');
    expect(elementOf('133Cs')).toBe('Cs');
    expect(elementOf('85Rb-')).toBe('Rb');
    expect(elementOf('Li')).toBe('Li');
    expect(elementOf('CsO+')).toBeUndefined();
  });
  it('Poisson correction I = -N ln(1 - C/N)', () => {
    // C = 500, N = 1000: -1000 ln 0.5 = 693.147…
    expect(poissonCorrect(500, 1000)).toBeCloseTo(693.1471806, 6);
    expect(poissonCorrect(0, 1000)).toBe(0);
    expect(poissonCorrect(1, 1e6)).toBeCloseTo(1.0000005, 6);
  });
  it('linear interpolation holds end values outside', () => {
    expect(interpLinear([0, 10], [0, 100], 2.5)).toBe(25);
    expect(interpLinear([0, 10], [0, 100], -1)).toBe(0);
    expect(interpLinear([0, 10], [0, 100], 11)).toBe(100);
  });
});

describe('format detection by content', () => {
  it('detects each fixture', () => {
    expect(detectFormat(read('mass_channels.csv'))).toBe('csv');
    expect(detectFormat(read('normalized.csv'))).toBe('csv');
    expect(detectFormat(read('iontof_profile.txt'))).toBe('iontof');
    expect(detectFormat(read('cameca.dp_rpc_asc'))).toBe('cameca');
    expect(detectFormat('t\t7Li\t133Cs\n0\t1\t2\n')).toBe('csv');
  });
  it('unknown format names line and column', () => {
    expectInputError(() => detectFormat('hello world\n1 2 3\n', 'x.dat'), 'x.dat', 'line 1, column 1', 'unknown format');
    expectInputError(() => detectFormat('\n\n', 'e.dat'), 'unknown format', 'empty');
  });
});

describe('CSV with mass channels', () => {
  const text = read('mass_channels.csv');
  it('parses channels and points', () => {
    const raw = parseSims(text);
    expect(raw.format).toBe('csv');
    expect(raw.axis.kind).toBe('time_s');
    expect(raw.channels.map((c) => c.label)).toEqual(['6Li', '7Li', '85Rb', '87Rb', '133Cs']);
    expect(raw.lines).toEqual([3, 4, 5, 6]);
    expect(raw.normalized).toBe(false);
  });
  it('sums isotopes and normalizes to unit sum; depth from the crater depth', () => {
    const p = importSims(text, { craterDepth_nm: 300 });
    expect(p.elements).toEqual(['Li', 'Rb', 'Cs']);
    expect(p.channelsOf).toEqual({ Li: ['6Li', '7Li'], Rb: ['85Rb', '87Rb'], Cs: ['133Cs'] });
    // depth = t · 300 nm / 30 s
    expect(p.depth_nm).toEqual([0, 100, 200, 300]);
    // row 1: Li = 10 + 90 = 100, Rb = 30 + 10 = 40, Cs = 100
    expect(p.c.Li[0]).toBeCloseTo(100 / 240, 12);
    expect(p.c.Rb[0]).toBeCloseTo(40 / 240, 12);
    expect(p.c.Cs[0]).toBeCloseTo(100 / 240, 12);
    // row 4: Li 400, Rb 160, Cs 0
    expect(p.c.Li[3]).toBeCloseTo(400 / 560, 12);
    expect(p.c.Cs[3]).toBe(0);
    for (let i = 0; i < 4; i++) expect(p.c.Li[i] + p.c.Rb[i] + p.c.Cs[i]).toBeCloseTo(1, 12);
  });
  it('relative sensitivity factors: c_Rb = 2 I_Rb / (I_Li + 2 I_Rb + I_Cs)', () => {
    const p = importSims(text, { sputterRate_nm_s: 0.5, sensitivity: { Rb: 2 } });
    expect(p.c.Rb[0]).toBeCloseTo((2 * 40) / (100 + 2 * 40 + 100), 12);
    expect(p.c.Li[0]).toBeCloseTo(100 / 280, 12);
    // depth = 0.5 nm/s · t
    expect(p.depth_nm).toEqual([0, 5, 10, 15]);
  });
  it('rejects bad option combinations', () => {
    expectInputError(() => importSims(text, {}), '--crater-depth NM or --sputter-rate');
    expectInputError(() => importSims(text, { craterDepth_nm: 1, sputterRate_nm_s: 1 }), 'cannot be used together');
    expectInputError(() => importSims(text, { craterDepth_nm: 1, sensitivity: { Na: 2 } }), '--sensitivity Na', 'Li, Rb, Cs');
  });
  it('dead-time correction and saturation', () => {
    // N = 400: 7Li on row 1 is 90 → -400 ln(1 - 90/400)
    const p = processProfile(parseSims(text), { craterDepth_nm: 300, shots: 400 });
    const li = poissonCorrect(10, 400) + poissonCorrect(90, 400);
    const rb = poissonCorrect(30, 400) + poissonCorrect(10, 400);
    const cs = poissonCorrect(100, 400);
    expect(p.c.Li[0]).toBeCloseTo(li / (li + rb + cs), 12);
    // 7Li = 270, 360 reach C/N >= 0.5: a warning
    expect(p.warnings.some((w) => /^7Li: 2 point\(s\) near saturation \(C\/N up to 0\.9/.test(w))).toBe(true);
    // N = 300: 7Li = 360 >= 300 on line 6, column 3
    expectInputError(() => importSims(text, { craterDepth_nm: 300, shots: 300 }), 'line 6, column 3 (7Li)', '360 counts >= 300 shots', 'saturated');
  });
});

describe('CSV already normalized per element', () => {
  it('keeps the depth column and the values', () => {
    const p = importSims(read('normalized.csv'));
    expect(p.raw.normalized).toBe(true);
    expect(p.elements).toEqual(['Li', 'Rb', 'Cs']);
    expect(p.depth_nm).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(p.c.Li[1]).toBeCloseTo(0.3, 12);
    expect(p.c.Cs[3]).toBeCloseTo(0.05, 12);
    expect(p.warnings).toEqual([]);
  });
  it('refuses counts-only options', () => {
    expectInputError(() => importSims(read('normalized.csv'), { shots: 100 }), 'already normalized');
    expectInputError(() => importSims(read('normalized.csv'), { sensitivity: { Rb: 2 } }), 'already normalized');
    expectInputError(() => importSims(read('normalized.csv'), { craterDepth_nm: 10 }), 'depth column');
  });
});

describe('IONTOF ASCII export (CRLF, trailing tabs, # header)', () => {
  const text = read('iontof_profile.txt');
  it('has CRLF and trailing tabs', () => {
    expect(text).toContain('\t\r\n');
  });
  it('parses labels, channels, points', () => {
    const raw = parseSims(text);
    expect(raw.format).toBe('iontof');
    expect(raw.axis.title).toBe('Sputter Time (s)');
    expect(raw.channels.map((c) => [c.label, c.column])).toEqual([
      ['7Li+', 2],
      ['85Rb+', 4],
      ['133Cs+', 6],
    ]);
    expect(raw.axis.values).toEqual([1, 2, 3, 4]);
    expect(raw.lines).toEqual([7, 8, 9, 10]);
    expect(raw.channels[2].values).toEqual([500, 300, 100, 20]);
  });
  it('dead-time correction with warnings near saturation; depth from the sputter rate', () => {
    const p = importSims(text, { shots: 1000, sputterRate_nm_s: 0.5 });
    expect(p.depth_nm).toEqual([0.5, 1, 1.5, 2]);
    const li = -1000 * Math.log(1 - 600 / 1000); // 916.29
    const rb = -1000 * Math.log(1 - 60 / 1000);
    const cs = -1000 * Math.log(1 - 100 / 1000);
    expect(p.c.Li[2]).toBeCloseTo(li / (li + rb + cs), 12);
    expect(p.warnings.some((w) => /^7Li\+: 2 point\(s\) near saturation/.test(w))).toBe(true);
    expect(p.warnings.some((w) => /133Cs\+.*saturation/.test(w))).toBe(true); // 500/1000
  });
  it('C >= N is an error naming line and column', () => {
    const bad = text.replace('4\t800\t', '4\t1000\t');
    expectInputError(() => importSims(bad, { shots: 1000, sputterRate_nm_s: 0.5 }, 'p.txt'), 'p.txt', 'line 10, column 2 (7Li+)', '1000 counts >= 1000 shots');
  });
  it('non-numeric cell names line and column', () => {
    const bad = text.replace('3\t600\t', '3\t6o0\t');
    expectInputError(() => parseSims(bad), 'line 9, column 2 (7Li+)', '"6o0" is not a number');
  });
  it('non-monotonic time names line and column', () => {
    const bad = text.replace('3\t600\t', '1.5\t600\t');
    expectInputError(() => parseSims(bad), 'line 9, column 1 (Sputter Time (s))', 'not increasing');
  });
  it('missing intensity column', () => {
    const bad = text.replace(/Intensity\(Background Corrected\)/g, 'Mass');
    expectInputError(() => parseSims(bad, 'iontof'), 'missing column titles');
  });
});

describe('IONTOF layout with one time column, labels over the intensities, LF ends', () => {
  it('parses', () => {
    const t = [
      '# hand-made: one time column',
      '#\t\t7Li+\t133Cs+\t',
      '#\t\t7.016\t132.905\t',
      '#\tSputter Time (s)\tIntensity\tIntensity\t',
      '0.5\t10\t30\t',
      '1.0\t20\t20\t',
      '',
    ].join('\n');
    const raw = parseSims(t);
    expect(raw.format).toBe('iontof');
    expect(raw.channels.map((c) => [c.label, c.column, c.values])).toEqual([
      ['7Li+', 2, [10, 20]],
      ['133Cs+', 3, [30, 20]],
    ]);
    const p = processProfile(raw, { craterDepth_nm: 100 });
    expect(p.depth_nm).toEqual([50, 100]);
    expect(p.c.Li).toEqual([0.25, 0.5]);
  });
});

describe('the export layouts of issue 10 (tests/fixtures/sims/layouts, reconstructed)', () => {
  const L = (f: string) => readFileSync(join(FIX, 'layouts', f), 'utf8');

  it('IONTOF: labels without mass numbers, a mass row, #Sputter Time (s), background-corrected intensities; the cluster CsMo+ kept as its own channel', () => {
    const text = L('iontof_no_masses_bgcorr.txt');
    expect(text).toContain('\t\r\n');
    const raw = parseSims(text, 'auto', 'a.txt');
    expect(raw.format).toBe('iontof');
    expect(raw.axis).toMatchObject({ kind: 'time_s', title: 'Sputter Time (s)' });
    expect(raw.axis.values.slice(0, 3)).toEqual([1, 3, 5]);
    expect(raw.channels.map((c) => [c.label, c.column])).toEqual([['Mo+', 2], ['CsMo+', 4], ['Al+', 6], ['Na+', 8]]);
    expect(raw.channels.map((c) => c.values[0])).toEqual([777.6, 124.8, 17699.9, 220.0]);
    const p = importSims(text, { craterDepth_nm: 23 }, 'a.txt');
    expect(p.elements).toEqual(['Mo', 'Al', 'Na']);
    expect(p.extra).toEqual(['CsMo']);
    const tot = 777.6 + 17699.9 + 220.0;
    expect(p.c.Mo[0]).toBeCloseTo(777.6 / tot, 12);
    expect(p.c.Mo[0] + p.c.Al[0] + p.c.Na[0]).toBeCloseTo(1, 12);
    // the cluster relative to the elements' sum, outside it
    expect(p.c.CsMo[0]).toBeCloseTo(124.8 / tot, 12);
    expect(p.channelsOf.CsMo).toEqual(['CsMo+']);
    expect(p.depth_nm[0]).toBeCloseTo((1 * 23) / 23, 12); // 23 nm over the last time, 23 s
  });

  it('IONTOF: labels with mass numbers, raw intensities, per-species (Depth, Sputter Time, Intensity) triplets with empty Depth cells', () => {
    const raw = parseSims(L('iontof_masses_raw_emptydepth.txt'), 'auto', 'b.txt');
    expect(raw.axis).toMatchObject({ kind: 'time_s', title: 'Sputter Time (s)' });
    expect(raw.axis.values.slice(0, 2)).toEqual([0.5, 2]);
    expect(raw.channels.map((c) => [c.label, c.values[0]])).toEqual([['7Li+', 122], ['85Rb+', 440], ['133Cs+', 311], ['133Cs2+', 11]]);
    const p = processProfile(raw, { craterDepth_nm: 100 }, 'b.txt');
    expect(p.elements).toEqual(['Li', 'Rb', 'Cs']);
    expect(p.extra).toEqual(['133Cs2']);
    expect(p.c.Li[0]).toBeCloseTo(122 / (122 + 440 + 311), 12);
  });

  it('Cameca: a blank line, the raw file name and a tab-separated species line after DATA START; Time[mn] Depth I[cnt/s] triplets with an empty Depth column', () => {
    const text = L('cameca_filename_emptydepth.dp_rpc_asc');
    const raw = parseSims(text, 'auto', 'c.dp_rpc_asc');
    expect(raw.format).toBe('cameca');
    expect(raw.channels.map((c) => c.label)).toEqual(['28Si', '31P', '75As']);
    expect(raw.axis.values.slice(0, 2).map((t) => Number(t.toFixed(9)))).toEqual([3, 6]); // 0.05 mn, 0.10 mn
    expect(raw.channels[0].values.slice(0, 2)).toEqual([2.0e6, 2.01e6]);
    // 31P measured at 0.06, 0.11 mn: at 0.10 mn 4/5 of the way from 5100 to 3132.7
    expect(raw.channels[1].values[1]).toBeCloseTo(5100 + 0.8 * (3132.7 - 5100), 6);
    expect(raw.params).toMatchObject({ deadTime_ns: 20, craterDepth_nm: 120, totalTime_s: 24 });
    const p = importSims(text, {}, 'c.dp_rpc_asc');
    expect(p.elements).toEqual(['Si', 'P', 'As']);
    expect(p.depth_nm[0]).toBeCloseTo((3 * 120) / 24, 9);
  });

  it('a label that names no known element is kept as its own channel (IONTOF, Cameca, CSV), not rejected', () => {
    expect(elementOf('Xx+')).toBeUndefined();
    expect(elementOf('Mo+')).toBe('Mo');
    const csv = importSims('time_s,7Li+,Xx+,133Cs+\n1,100,5,300\n2,200,6,200\n', { craterDepth_nm: 2 }, 'x.csv');
    expect(csv.elements).toEqual(['Li', 'Cs']);
    expect(csv.extra).toEqual(['Xx']);
    expect(csv.c.Xx[0]).toBeCloseTo(5 / 400, 12);
    const cam = parseSims(read('cameca.dp_rpc_asc').replace('7Li\t\t133Cs', '7Li\t\t16O133Cs2'));
    expect(cam.channels.map((c) => c.label)).toEqual(['7Li', '16O133Cs2']);
  });
});

describe('hostile and large files', () => {
  it('an error echoing the file strips control characters and is capped in length (a 9,000-column header with an escape sequence)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-hostile-'));
    const f = join(dir, 'wide.csv');
    writeFileSync(f, '\u001b[31m' + Array.from({ length: 9_000 }, (_, i) => `c${i}`).join(',') + '\n1,2\n');
    let err = '';
    const code = await runCli(['sims', f, '--out', join(dir, 'o.csv')], { stdout: () => {}, stderr: (s) => (err += s), stderrIsTTY: false, env: {} });
    expect(code).toBe(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may reach the terminal
    expect(err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(err).toContain('\\u001b[31m');
    expect(err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(err.length).toBeLessThan(1100);
    expect(err).toMatch(/… \(\d+ more characters\)\n$/);
  });

  it('a line longer than 1 MiB is refused before it is split; more than 10,000 columns are refused', () => {
    const long = 'time_s,7Li' + ',x'.repeat(600_000) + '\n1,2\n';
    expectInputError(() => parseSims(long, 'auto', 'one.csv'), 'one.csv: line 1 is longer than 1048576 characters: not a SIMS depth profile');
    expectInputError(() => parseSims('time_s,7Li' + ',x'.repeat(20_000) + '\n', 'auto', 'w.csv'), 'w.csv: line 1: 20002 columns, more than 10000');
  });

  it('a file given in pieces parses as the whole text does, and only the lines in use are held', () => {
    const rows = 100_000;
    let text = '# comment\r\ntime_s,7Li,133Cs\r\n';
    for (let i = 1; i <= rows; i++) text += `${i},${1000 + (i % 97)},${500 + (i % 89)}\r\n`;
    const whole = parseSims(text, 'auto', 'a.csv');
    let maxHeld = 0;
    // assigned after its declaration: the generator reads it once the Lines exists
    let lines!: Lines;
    lines = new Lines(
      (function* () {
        for (let k = 0; k < text.length; k += 4093) {
          maxHeld = Math.max(maxHeld, lines.buffered);
          yield text.slice(k, k + 4093); // pieces cut anywhere, CRLF split included
        }
      })(),
      'a.csv',
    );
    const pieces = parseCsv(lines, 'a.csv');
    expect(pieces.axis.values).toEqual(whole.axis.values);
    expect(pieces.channels.map((c) => c.values)).toEqual(whole.channels.map((c) => c.values));
    expect(pieces.lines[rows - 1]).toBe(rows + 2);
    expect(maxHeld).toBeLessThan(10);
  });
});

describe('round-off below 0 and extra cells', () => {
  it('normalized densities read round-off (≥ −1e-6, as in cait simulate\'s own CSV) as 0 with a warning; counts stay strict', () => {
    const text = '# written by cait simulate\ndepth_nm,Li,Rb,Cs\n0.25,0.14,0.86,0\n0.75,0.17,0.83,-5.749075777683056e-26\n1.25,0.2,0.8,-3e-9\n';
    const raw = parseSims(text, 'auto', 'sim.csv');
    expect(raw.normalized).toBe(true);
    expect(raw.channels.find((c) => c.label === 'Cs')!.values).toEqual([0, 0, 0]);
    expect(raw.warnings).toContain('2 normalized value(s) slightly below 0 (round-off, ≥ −0.000001) read as 0');
    expectInputError(() => parseSims(text.replace('-3e-9', '-0.002'), 'auto', 'sim.csv'), 'sim.csv: line 5, column 4 (Cs): negative density (-0.002; normalized values may dip below 0 by 0.000001 at most)');
    expectInputError(() => parseSims('time_s,7Li,133Cs\n1,100,-1e-12\n', 'auto', 'c.csv'), 'c.csv: line 2, column 3 (133Cs): negative counts (-1e-12)');
  });

  it('a data row with an extra cell is an error naming line and column (CSV and IONTOF)', () => {
    expectInputError(() => parseSims('depth_nm,Li,Rb\n1,0.5,0.5\n2,0.4,0.6,7\n', 'auto', 'x.csv'), 'x.csv: line 3, column 4: an extra cell (4 cells, the header has 3 columns)');
    const iontof = read('iontof_profile.txt').split('\r\n');
    const k = iontof.findIndex((l) => /^\d/.test(l));
    iontof[k] = iontof[k].replace(/\t*$/, '\t12345');
    expectInputError(() => parseSims(iontof.join('\r\n'), 'iontof', 'p.txt'), new RegExp(`p\\.txt: line ${k + 1}, column \\d+: an extra cell`));
  });
});

describe('CSV variants', () => {
  it('semicolon and tab separated, time in minutes, charged labels are counts', () => {
    const a = parseSims('time (min);Li+;Cs+\n0;1;1\n1;3;1\n');
    expect(a.axis.values).toEqual([0, 60]);
    expect(a.normalized).toBe(false);
    const b = parseSims('Depth (um)\t7Li\t133Cs\n0.1\t1\t1\n0.2\t3\t1\n');
    expect(b.axis).toMatchObject({ kind: 'depth_nm', values: [100, 200] });
    expect(importSims('Depth (um)\t7Li\t133Cs\n0.1\t1\t1\n0.2\t3\t1\n').c.Li).toEqual([0.5, 0.75]);
  });
  it('quoted cells may hold the delimiter (csv-parse); an unclosed quote names line and column', () => {
    const raw = parseSims('"time, s";"7Li";133Cs\n0;"1";2\n1;3;4\n'.replace(/;/g, ','));
    expect(raw.axis).toMatchObject({ kind: 'time_s', title: 'time, s', values: [0, 1] });
    expect(raw.channels.map((c) => [c.label, c.column, c.values])).toEqual([
      ['7Li', 2, [1, 3]],
      ['133Cs', 3, [2, 4]],
    ]);
    expectInputError(() => parseSims('time_s,7Li,133Cs\n0,1,2\n1,"3,4\n', 'csv', 'q.csv'), 'q.csv: line 3, column 2', 'Quote Not Closed');
  });
  it('zero total signal: point dropped with a warning', () => {
    const p = importSims('depth_nm,7Li,133Cs\n1,0,0\n2,1,3\n');
    expect(p.depth_nm).toEqual([2]);
    expect(p.warnings[0]).toMatch(/1 point\(s\) with zero total signal dropped \(line 2\)/);
  });
});

describe('Cameca .dp_rpc_asc', () => {
  const text = read('cameca.dp_rpc_asc');
  it('parses species, parameters and resamples onto the first time axis', () => {
    const raw = parseSims(text);
    expect(raw.format).toBe('cameca');
    expect(raw.channels.map((c) => c.label)).toEqual(['7Li', '133Cs']);
    expect(raw.axis.values.map((t) => Number(t.toFixed(9)))).toEqual([6, 12, 18, 24]); // 0.1 mn = 6 s
    expect(raw.params).toEqual({ deadTime_ns: 28, totalTime_s: 30, sputterRate_nm_s: 0.5, craterDepth_nm: 12 });
    // Cs measured at 9, 15, 21, 27 s: at 12 s halfway between 2000 and 4000; at 6 s held at 2000
    expect(raw.channels[1].values.map((v) => Number(v.toFixed(6)))).toEqual([2000, 3000, 5000, 7000]);
    expect(raw.warnings.some((w) => /133Cs: 1 point/.test(w))).toBe(true);
  });
  it('depth from the crater depth of the file (12 nm over 30 s), or from the options; the file\'s EM dead time (28 ns) applied', () => {
    const p = importSims(text);
    expect(p.depth_nm.map((d) => Number(d.toFixed(9)))).toEqual([2.4, 4.8, 7.2, 9.6]);
    // row 2: Li 2e4 cnt/s, Cs 3000 cnt/s (resampled); N = N_obs / (1 - N_obs · 28e-9)
    const li = 2e4 / (1 - 2e4 * 28e-9);
    const cs = 3000 / (1 - 3000 * 28e-9);
    expect(p.c.Li[1]).toBeCloseTo(li / (li + cs), 12);
    expect(p.deadTime).toMatchObject({ tau_ns: 28, from: 'file' });
    expect(p.deadTime?.maxLoad).toBeCloseTo(4e4 * 28e-9, 15);
    expect(p.warnings.some((w) => /dead time|N_obs/.test(w))).toBe(false); // 1.1e-3 is far below 0.1
    // --dead-time 0: no correction
    const u = importSims(text, { deadTime_ns: 0 });
    expect(u.c.Li[1]).toBeCloseTo(20000 / 23000, 12);
    expect(u.deadTime).toBeUndefined();
    expect(u.notes.some((n) => /no dead-time correction.*28 ns ignored/.test(n))).toBe(true);
    const q = importSims(text, { sputterRate_nm_s: 1 });
    expect(q.depth_nm.map((d) => Number(d.toFixed(9)))).toEqual([6, 12, 18, 24]);
    expectInputError(() => importSims(text, { shots: 10 }), 'count rates');
  });
  it('missing column names line and column', () => {
    const bad = text.replace('Time[mn]\tDepth\tI[cnt/s]\tTime[mn]\tDepth\tI[cnt/s]', 'Time[mn]\tDepth\tI[cnt/s]\tTime[mn]\tDepth');
    expectInputError(() => parseSims(bad), 'line 7, column 6', 'missing column', 'I[cnt/s] for 133Cs');
  });
  it('short data row, negative counts, non-monotonic time', () => {
    expectInputError(() => parseSims(text.replace('0.20\t0\t2.0E+04\t0.25\t0\t4.0E+03', '0.20\t0\t2.0E+04\t0.25')), 'line 9, column 5', 'missing column');
    expectInputError(() => parseSims(text.replace('0.20\t0\t2.0E+04', '0.20\t0\t-2.0E+04')), 'line 9, column 3 (7Li)', 'negative counts');
    expectInputError(() => parseSims(text.replace('0.35\t0\t6.0E+03', '0.20\t0\t6.0E+03')), 'line 10, column 4', 'not increasing');
  });
  it('no DATA END', () => {
    expectInputError(() => parseSims(text.replace('*** DATA END ***', '')), 'without "*** DATA END ***"');
  });
});

describe('non-paralysable dead-time correction of count rates', () => {
  const text = read('cameca.dp_rpc_asc');
  it('N = N_obs / (1 - N_obs tau)', () => {
    // 1e6 cnt/s with 50 ns: 1e6 / 0.95
    expect(deadTimeCorrect(1e6, 50e-9)).toBeCloseTo(1052631.5789473684, 6);
    expect(deadTimeCorrect(0, 50e-9)).toBe(0);
  });
  it('--dead-time overrides the file; N_obs tau > 0.1 warns, >= 1 is an error naming line and column', () => {
    // tau = 3 µs: 7Li 1e4..4e4 cnt/s -> loads 0.03, 0.06, 0.09, 0.12 (one point above 0.1)
    const p = importSims(text, { deadTime_ns: 3000 });
    expect(p.deadTime?.from).toBe('option');
    const li = 4e4 / (1 - 0.12);
    const cs = 7000 / (1 - 7000 * 3e-6);
    expect(p.c.Li[3]).toBeCloseTo(li / (li + cs), 12);
    expect(p.warnings.some((w) => /^7Li: 1 point\(s\) with N_obs·τ > 0\.1 \(up to 0\.12; dead-time correction up to ×1\.14\)/.test(w))).toBe(true);
    expect(p.warnings.some((w) => /^133Cs: .*N_obs/.test(w))).toBe(false);
    // tau = 25 µs: 4e4 cnt/s × 25e-6 s = 1 on the 4th data row (line 11), column 3
    expectInputError(() => importSims(text, { deadTime_ns: 25000 }, 'c.asc'), 'c.asc: line 11, column 3 (7Li)', '>= 1', 'diverges');
  });
  it('a CSV of count rates takes --dead-time; IONTOF counts, normalized columns and --shots refuse it', () => {
    const csv = 'time_s,7Li,133Cs\n0,1e5,3e5\n1,2e5,1e5\n';
    const p = importSims(csv, { sputterRate_nm_s: 1, deadTime_ns: 100 });
    const li = 1e5 / (1 - 1e5 * 1e-7);
    const cs = 3e5 / (1 - 3e5 * 1e-7);
    expect(p.c.Li[0]).toBeCloseTo(li / (li + cs), 12);
    expectInputError(() => importSims(read('iontof_profile.txt'), { sputterRate_nm_s: 1, deadTime_ns: 20 }), 'IONTOF', '--shots');
    expectInputError(() => importSims(read('normalized.csv'), { deadTime_ns: 20 }), 'already normalized');
    expectInputError(() => importSims(csv, { sputterRate_nm_s: 1, deadTime_ns: 20, shots: 1000 }), '--shots and --dead-time cannot be used together');
    expectInputError(() => importSims(csv, { sputterRate_nm_s: 1, deadTime_ns: -1 }), '--dead-time');
  });
});

describe('sensitivity factors calibrated from the delivered charge', () => {
  const e = ELEMENTARY_CHARGE;
  const n0 = 1e28;
  const A = 1e-5;
  /** the charge that delivers a layer h nm thick at density n0 over A */
  const charge = (h_nm: number) => h_nm * 1e-9 * e * n0 * A;
  it('profile integral: trapezoids, c held from the surface to the first point', () => {
    expect(profileIntegral([0, 10, 20], [1, 1, 0])).toBe(15);
    expect(profileIntegral([2, 4], [0.5, 0.5])).toBe(2); // 2·0.5 (surface) + 2·0.5
  });
  it('one beam, one native species: the single factor s_Rb', () => {
    // c_Rb = s/(1+s) at 0 and 10 nm, 0 at 20, 30 nm: ∫ = 10c + 5c = 15c; 6 nm -> c = 0.4 -> s = 2/3
    const csv = 'depth_nm,7Li,85Rb\n0,1,1\n10,1,1\n20,1,0\n30,1,0\n';
    const p = importSims(csv, { calibrate: { charge_C: { Rb: charge(6) }, n0_m3: n0, area_m2: A } });
    expect(p.sensitivity.Rb).toBeCloseTo(2 / 3, 9);
    expect(p.sensitivity.Li).toBe(1);
    expect(p.c.Rb[0]).toBeCloseTo(0.4, 9);
    expect(p.calibration?.Rb.inventory_nm).toBeCloseTo(6, 9);
    expect(p.warnings).toEqual([]);
    // a larger charge needs a larger factor; n0 twice as large halves the layer (the calibration scales with n0)
    const q = importSims(csv, { calibrate: { charge_C: { Rb: charge(6) }, n0_m3: 2 * n0, area_m2: A } });
    expect(q.c.Rb[0]).toBeCloseTo(0.2, 9); // 15c = 3 nm
  });
  it('two beams and Li: one factor per charge', () => {
    // Cs at 0, 10 nm: ∫ = 15 c_Cs; Rb at 30, 40 nm: ∫ = 5c + 10c + 5c = 20 c_Rb (Li = 1 everywhere)
    const csv = 'depth_nm,7Li,85Rb,133Cs\n0,1,0,1\n10,1,0,1\n20,1,0,0\n30,1,1,0\n40,1,1,0\n50,1,0,0\n';
    // Rb: 15 nm -> c = 0.75 -> s = 3; Cs: 3 nm -> c = 0.2 -> s = 0.25
    const p = importSims(csv, { calibrate: { charge_C: { Rb: charge(15), Cs: charge(3) }, n0_m3: n0, area_m2: A } });
    expect(p.sensitivity.Rb).toBeCloseTo(3, 8);
    expect(p.sensitivity.Cs).toBeCloseTo(0.25, 8);
    expect(p.c.Rb[3]).toBeCloseTo(0.75, 9);
    expect(p.c.Cs[0]).toBeCloseTo(0.2, 9);
  });
  it('what cannot be calibrated is an error; an inventory reaching the last point warns', () => {
    const csv = 'depth_nm,7Li,85Rb\n0,1,1\n10,1,1\n20,1,0\n30,1,0\n';
    const cal = (charge_C: Record<string, number>) => ({ calibrate: { charge_C, n0_m3: n0, area_m2: A } });
    expectInputError(() => importSims(csv, cal({ Rb: charge(1), Li: charge(1) })), 'leave at least one', 'ratios');
    expectInputError(() => importSims(csv, cal({ Cs: charge(1) })), '--calibrate-from-charge Cs', 'no such element');
    expectInputError(() => importSims(csv, { ...cal({ Rb: charge(1) }), sensitivity: { Rb: 2 } }), 'cannot both be given');
    expectInputError(() => importSims(csv, cal({ Rb: charge(31) })), 'not less than the profile', '30 nm');
    // ∫c_Rb can reach at most 15 nm (c_Rb -> 1 at 0 and 10 nm)
    expectInputError(() => importSims(csv, cal({ Rb: charge(20) })), 'no sensitivity factors give', 'at most 15 nm for Rb');
    const deep = 'depth_nm,7Li,85Rb\n0,1,1\n10,1,1\n20,1,0.5\n';
    expect(importSims(deep, cal({ Rb: charge(5) })).warnings.some((w) => /deepest point is 50 % of its maximum/.test(w))).toBe(true);
  });
});

describe('malformed CSV names line and column', () => {
  it('missing axis column', () => {
    expectInputError(() => parseSims('cycle,7Li\n1,2\n', 'csv', 'a.csv'), 'a.csv: line 1', 'missing column', 'sputter-time or depth');
  });
  it('missing cell', () => {
    expectInputError(() => parseSims('time_s,7Li,133Cs\n0,1,2\n1,2\n'), 'line 3, column 3 (133Cs)', 'missing column');
  });
  it('non-numeric cell', () => {
    expectInputError(() => parseSims('time_s,7Li,133Cs\n0,1,2\n1,x,3\n'), 'line 3, column 2 (7Li)', '"x" is not a number');
  });
  it('non-monotonic depth', () => {
    expectInputError(() => parseSims('# c\ndepth_nm,Li,Cs\n0,0.5,0.5\n2,0.5,0.5\n1,0.5,0.5\n'), 'line 5, column 1 (depth_nm)', 'not increasing');
  });
  it('negative counts', () => {
    expectInputError(() => parseSims('time_s,7Li,133Cs\n0,1,2\n1,-3,3\n'), 'line 3, column 2 (7Li)', 'negative counts');
  });
});

describe('cait sims (CLI in-process)', () => {
  function ctx() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, c: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), env: {} } };
  }
  it('writes the CSV with provenance and prints a summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-sims-'));
    const out = join(dir, 'profile.csv');
    const k = ctx();
    const code = await runCli(['sims', join(FIX, 'mass_channels.csv'), '--crater-depth', '300', '--sensitivity', 'Rb=2', '--out', out], k.c);
    expect(k.err.join('')).toBe('');
    expect(code).toBe(0);
    const csv = readFileSync(out, 'utf8');
    expect(csv).toMatch(/^# cait-ensemble \S+ sims\n/);
    expect(csv).toContain('# source: mass_channels.csv\n');
    expect(csv).toContain('# format: csv\n');
    expect(csv).not.toContain('SYNTHETIC'); // a hand-made fixture is not marked synthetic
    expect(csv).toContain('--crater-depth 300');
    const rows = csv.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rows[0]).toBe('depth_nm,Li,Rb,Cs');
    expect(rows).toHaveLength(5);
    const r1 = rows[1].split(',').map(Number);
    expect(r1[0]).toBe(0);
    expect(r1[2]).toBeCloseTo(80 / 280, 7);
    const s = k.out.join('');
    expect(s).toContain('format:   csv (detected)');
    expect(s).toContain('6Li + 7Li -> Li');
    expect(s).toContain('points:   4');
    expect(s).toContain('depth:    0 .. 300 nm');
  });
  it('a failing run leaves an existing --out untouched: one-line error, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-sims-'));
    const out = join(dir, 'profile.csv');
    writeFileSync(out, 'KEEP\n');
    const k = ctx();
    const code = await runCli(['sims', join(FIX, 'iontof_profile.txt'), '--shots', '700', '--sputter-rate', '1', '--out', out], k.c);
    expect(code).toBe(2);
    const e = k.err.join('');
    expect(e).toMatch(/^cait: error: iontof_profile\.txt: line 10, column 2 \(7Li\+\): 800 counts >= 700 shots: saturated/);
    expect(e.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(out, 'utf8')).toBe('KEEP\n');
    const k2 = ctx();
    expect(await runCli(['sims', join(dir, 'missing.csv'), '--out', out], k2.c)).toBe(2);
    expect(k2.err.join('')).toContain('no such file');
    const k4 = ctx();
    expect(await runCli(['sims', out, '--out', out], k4.c)).toBe(2);
    expect(k4.err.join('')).toContain('is the input file');
    const k3 = ctx();
    expect(await runCli(['sims', join(FIX, 'cameca.dp_rpc_asc'), '--sensitivity', 'Li=x', '--out', out], k3.c)).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('KEEP\n');
  });
  it('--dead-time and --calibrate-from-charge: summary and comment lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cait-sims-'));
    const src = join(dir, 'two.csv');
    writeFileSync(src, 'depth_nm,7Li,85Rb\n0,1,1\n10,1,1\n20,1,0\n30,1,0\n');
    const out = join(dir, 'profile.csv');
    const k = ctx();
    const Q = 6e-9 * ELEMENTARY_CHARGE * 1e28 * 1e-5; // a 6 nm layer: s_Rb = 2/3
    const code = await runCli(['sims', src, '--calibrate-from-charge', `Rb=${Q}`, '--n0', '1e28', '--area', '1e-5', '--out', out], k.c);
    expect(k.err.join('')).toBe('');
    expect(code).toBe(0);
    const s = k.out.join('');
    expect(s).toMatch(/factors: {2}s_Li = 1, s_Rb = 0\.667 \(from charge\)/);
    expect(s).toMatch(/charge: {3}Rb: Q = .* C -> int c_Rb dx = 6 nm -> s_Rb = 0\.667/);
    const csv = readFileSync(out, 'utf8');
    expect(csv).toContain('--calibrate-from-charge Rb=');
    expect(csv).toMatch(/# processing: charge calibration: s_Rb = 0\.667/);
    const rows = csv.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(Number(rows[1].split(',')[2])).toBeCloseTo(0.4, 7);
    const k2 = ctx();
    expect(await runCli(['sims', join(FIX, 'cameca.dp_rpc_asc'), '--dead-time', '3000', '--out', out], k2.c)).toBe(0);
    expect(k2.out.join('')).toContain('tau = 3000 ns (--dead-time)');
    expect(readFileSync(out, 'utf8')).toMatch(/# warning: 7Li: 1 point\(s\) with N_obs·τ > 0\.1/);
    const k3 = ctx();
    expect(await runCli(['sims', src, '--n0', '1e28', '--out', out], k3.c)).toBe(2);
    expect(k3.err.join('')).toContain('--n0 applies only with --calibrate-from-charge');
    const k4 = ctx();
    expect(await runCli(['sims', src, '--calibrate-from-charge', 'Rb=-1', '--out', out], k4.c)).toBe(2);
    expect(k4.err.join('')).toContain('ELEMENT=POSITIVE_NUMBER');
  });
  it('help shows units', async () => {
    const k = ctx();
    await runCli(['sims', '--help'], k.c);
    const h = k.out.join('');
    expect(h).toContain('--crater-depth <nm>');
    expect(h).toContain('nm/s');
    expect(h).toContain('--shots <N>');
    expect(h).toContain('--dead-time <ns>');
    expect(h).toContain('--calibrate-from-charge <list>');
    expect(h).toMatch(/--n0 <per_m3>\s+native mobile-ion density n0, m\^-3/);
    expect(h).toContain('only RATIOS of factors');
  });
});
