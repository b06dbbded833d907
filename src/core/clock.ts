/** A monotonic clock in ms where there is one (performance.now in Node and the page), else Date.now. */
export function clockMs(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
