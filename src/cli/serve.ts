/**
 * `cait serve`: serve the built explorer page (dist-web/, made by `npm run
 * build`) on http://127.0.0.1:PORT until Ctrl-C; --open opens it in the
 * desktop browser (xdg-open). A non-loopback host needs --allow-remote.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../core/errors.js';
import { defaultWebRoot } from '../headless/browser.js';
import { isLoopbackHost, startStaticServer, type StaticServer } from '../serve/static.js';
import type { CliContext } from './common.js';
import { SERVE_HELP } from './help.js';

export interface ServeOptions {
  port: number;
  host: string;
  allowRemote?: boolean;
  open?: boolean;
  webRoot?: string;
  /** open an example: `fit` (a converged two-parameter fit of the quick preset) or `ensemble` */
  example?: string | boolean;
}

/** The examples `--example` opens (examples/, copied beside the page by the build; scripts/make-examples.ts makes them). */
export const EXAMPLES: Record<string, string> = { fit: 'fit-quick.json', ensemble: 'ensemble-quick.json' };

function portNumber(v: string): number {
  const t = v.trim();
  const x = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(x) || x < 0 || x > 65535) throw new InvalidArgumentError('must be an integer in 0..65535 (0 = any free port)');
  return x;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .summary('serve the explorer page on http://127.0.0.1')
    .description('Serve the built explorer page until Ctrl-C and print its URL.')
    .option('--port <N>', 'TCP port (0 = any free port)', portNumber, 8173)
    .option('--host <H>', 'interface to listen on (loopback unless --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'allow a non-loopback --host (the page becomes reachable from other machines)')
    .option('--open', 'open the page in the desktop browser (xdg-open)')
    .option('--web-root <dir>', `the built page (default ${defaultWebRoot()})`)
    .option('--example [fit|ensemble]', 'open a small example: a fit of the quick preset (default) or an ensemble')
    .addHelpText('after', SERVE_HELP)
    .action(async (opts: ServeOptions) => {
      const server = await startServe(opts, ctx);
      await waitForSignal();
      await server.close();
      ctx.stderr('cait serve: stopped\n');
    });
}

/** Start the server for `cait serve` (checks and URL line included); the caller closes it. */
export async function startServe(opts: ServeOptions, ctx: CliContext): Promise<StaticServer> {
  if (!isLoopbackHost(opts.host) && !opts.allowRemote)
    throw new InputError(`--host ${opts.host} is not a loopback address: the page would be reachable from other machines; add --allow-remote to allow it`);
  const root = resolve(opts.webRoot ?? defaultWebRoot());
  if (!existsSync(join(root, 'index.html')))
    throw new InputError(`the page is not built: ${join(root, 'index.html')} is missing; run \`npm run build\` (it bundles the page into dist-web/)`);
  let page = '';
  if (opts.example !== undefined) {
    const name = opts.example === true ? 'fit' : String(opts.example);
    const file = EXAMPLES[name];
    if (!file) throw new InputError(`--example ${name}: one of ${Object.keys(EXAMPLES).join(', ')}`);
    if (!existsSync(join(root, file))) throw new InputError(`--example ${name}: ${join(root, file)} is missing; run \`npm run build\` (it copies examples/ beside the page)`);
    page = `?file=${encodeURIComponent(file)}`;
  }
  const server = await startStaticServer({ root, host: opts.host, port: opts.port, allowNonLoopback: !!opts.allowRemote });
  const url = `${server.url}${page}`;
  ctx.stdout(`${url}\n`);
  ctx.stderr(`cait serve: serving ${root} at ${server.url} (Ctrl-C to stop)${page ? `; the example: ${url}` : ''}\n`);
  if (opts.open) openInBrowser(url, ctx);
  return server;
}

function openInBrowser(url: string, ctx: CliContext): void {
  try {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.on('error', (e) => ctx.stderr(`cait serve: could not open a browser (${e.message}); open ${url} yourself\n`));
    child.unref();
  } catch (e) {
    ctx.stderr(`cait serve: could not open a browser (${(e as Error).message}); open ${url} yourself\n`);
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((ok) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      ok();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
