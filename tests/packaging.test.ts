/**
 * What `npm pack` ships: the built CLI and everything it reads at run time
 * (the shaders, the built page with its examples, the Slurm job template),
 * the licence and the docs — and no tests, benchmarks or sources. The
 * tarball is installed and run by scripts/check-package.sh (slower, needs
 * the registry); here `npm pack --dry-run` lists it. Also: an optional
 * engine package that is not installed gives one line saying what to do.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMissingPackage, MissingPackageError, withOptionalPackage } from '../src/cli/engines.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const built = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')) && existsSync(join(ROOT, 'dist-web', 'index.html'));

describe('the package', () => {
  it('is MIT-licensed with the licence text beside it', () => {
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });

  it('never downloads a browser, and keeps the GPU engines optional', () => {
    expect(pkg.dependencies).not.toHaveProperty('puppeteer');
    expect(pkg.dependencies).toHaveProperty('puppeteer-core');
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual(['gpu.js', 'webgpu']);
    expect(pkg.dependencies).not.toHaveProperty('d3');
    expect(pkg.dependencies).not.toHaveProperty('linkedom');
  });

  it.skipIf(!built)('npm pack ships the CLI, the shaders, the page, the job template, the licence and the docs, and nothing else', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const files = new Set<string>((JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path));
    for (const f of [
      'package.json',
      'LICENSE',
      'README.md',
      'docs/model.md',
      pkg.bin.cait,
      'dist/src/cli/main.js',
      'dist/src/ensemble/cpu-worker.js',
      'shaders/npp_qn.wgsl',
      'shaders/residual.wgsl',
      'scripts/slurm/job-template.sh',
      'dist-web/index.html',
      'dist-web/fit-quick.json',
    ])
      expect(files, f).toContain(f);
    const stray = [...files].filter((f) => /^(tests|bench|src|node_modules)\/|^dist\/(tests|bench|scripts)\/|\.map$|\.ts$/.test(f) && !f.startsWith('dist-web/'));
    expect(stray).toEqual([]);
    expect(readFileSync(join(ROOT, pkg.bin.cait), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });
});

describe('optional engine packages', () => {
  it('a package that is not installed is one line naming it and what to run', async () => {
    const name = 'cait-no-such-package';
    const load = () => import(/* @vite-ignore */ name);
    const real = await load().catch((e: unknown) => e);
    expect(isMissingPackage(real, name)).toBe(true);
    expect(isMissingPackage(real, 'gpu.js')).toBe(false);
    const err = await withOptionalPackage(name, 'the x engine', load).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPackageError);
    expect((err as Error).message).toBe(
      "the x engine needs the optional package cait-no-such-package, which is not installed here: run `npm install cait-no-such-package` in cait's directory (or use --engine cpu)",
    );
  });

  it('other failures pass through unchanged', async () => {
    const boom = new Error('boom');
    await expect(withOptionalPackage('gpu.js', 'the gpu.js engine', () => Promise.reject(boom))).rejects.toBe(boom);
  });
});
