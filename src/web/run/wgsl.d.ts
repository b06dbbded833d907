/** Vite's `?raw` imports: the file's text as a string (the WGSL shaders of shaders/). */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
