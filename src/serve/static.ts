/**
 * A small static file server (node:http) for the explorer page (dist-web/):
 * serves files under one root only (no path traversal, no symlink escape),
 * with the MIME types the page needs, on a loopback host unless the caller
 * allows a non-loopback one explicitly. Used by `cait serve`, `cait headless`
 * and the browser tests.
 */
import { createReadStream, promises as fsp, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { InputError } from '../core/errors.js';

export interface StaticServerOptions {
  /** directory whose files are served */
  root: string;
  /** interface to listen on; default 127.0.0.1 */
  host?: string;
  /** TCP port; 0 (default) = any free port */
  port?: number;
  /** allow a host that is not a loopback address (0.0.0.0, a LAN address, a name) */
  allowNonLoopback?: boolean;
}

export interface StaticServer {
  /** http://HOST:PORT/ (IPv6 hosts in brackets) */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/wgsl; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** MIME type by file extension; unknown ones are application/octet-stream. */
export function mimeType(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** True for localhost, 127.0.0.0/8 and ::1 (also ::ffff:127.x.y.z). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Map a request path to a file under root, or null when it is outside root
 * (after decoding and normalization) or malformed. "/" and directories map to
 * their index.html.
 */
export function resolveUnderRoot(root: string, urlPath: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  const target = resolve(root, '.' + (p.startsWith('/') ? p : '/' + p));
  const rel = relative(root, target);
  if (rel.startsWith('..') || isAbsolute(rel)) return null;
  return target;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(rootReal: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  let file = resolveUnderRoot(rootReal, req.url ?? '/');
  if (!file) return send(res, 403, 'forbidden\n');
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
    if (st.isDirectory()) {
      file = resolve(file, 'index.html');
      st = await fsp.stat(file);
    }
    // a symlink inside root must not lead outside it
    const real = await fsp.realpath(file);
    const rel = relative(rootReal, real);
    if (rel.startsWith('..') || isAbsolute(rel)) return send(res, 403, 'forbidden\n');
  } catch {
    return send(res, 404, 'not found\n');
  }
  if (!st.isFile()) return send(res, 404, 'not found\n');
  res.writeHead(200, {
    'Content-Type': mimeType(file),
    'Content-Length': st.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/**
 * Serve the files under `root` over HTTP.
 *
 * @example
 *   const srv = await startStaticServer({ root: 'dist-web' });
 *   console.log(srv.url); // http://127.0.0.1:41234/
 *   await srv.close();
 */
export async function startStaticServer(opts: StaticServerOptions): Promise<StaticServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port: ${port} is not an integer in 0..65535`);
  if (!isLoopbackHost(host) && !opts.allowNonLoopback)
    throw new InputError(
      `host: ${host} is not a loopback address; the page would be reachable from other machines (allow it explicitly, e.g. cait serve --allow-remote)`,
    );
  let rootReal: string;
  try {
    if (!statSync(opts.root).isDirectory()) throw new Error('not a directory');
    rootReal = realpathSync(opts.root);
  } catch {
    throw new InputError(`root: ${opts.root} is not a directory`);
  }
  const server = createServer((req, res) => {
    handle(rootReal, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES' ? new InputError(`cannot listen on ${host}:${port} (${e.code})`) : e),
    );
    server.listen(port, host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' || host.includes(':') ? `[${addr.address}]` : host;
  return {
    url: `http://${shownHost}:${addr.port}/`,
    port: addr.port,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.close((e) => (e ? fail(e) : ok()));
        server.closeAllConnections();
      }),
  };
}
