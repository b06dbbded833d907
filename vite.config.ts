/**
 * Vite bundles the explorer page (index.html at the top level, code in
 * src/web/) into dist-web/: one self-contained folder, no CDN, relative URLs
 * (served by `cait serve`, `cait headless` and the browser tests), with the
 * files of examples/ beside index.html.
 * vitest reads vitest.config.ts, not this file.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: '.',
  base: './',
  // the examples `cait serve --example` opens (scripts/make-examples.ts) are copied to the page's root
  publicDir: 'examples',
  build: {
    outDir: 'dist-web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
});
