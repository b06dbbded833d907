/**
 * Vite bundles the explorer page (index.html at the top level, code in
 * src/web/) into dist-web/: one self-contained folder, no CDN, relative URLs
 * (served by `cait serve`, `cait headless` and the browser tests).
 * vitest reads vitest.config.ts, not this file.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: '.',
  base: './',
  publicDir: false,
  build: {
    outDir: 'dist-web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
});
