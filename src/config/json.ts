/**
 * Where a JSON text goes wrong: a small scanner of the JSON grammar that
 * finds the first error and says what it is, and its line and column — the
 * same in Node and in the browser page (whose JSON.parse messages differ,
 * give a byte position at best, and echo raw file bytes). Used by
 * `parseJson` (validate.ts). Platform-neutral.
 *
 * @example
 * jsonError('{\n "a": [1,2,\n}'); // { offset: 15, reason: 'unexpected "}" (a value was expected)' }
 */
/** Where the first error of a JSON text is (0-based offset) and what it is; undefined for valid JSON. */
export function jsonError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  const n = text.length;
  const fail = (reason: string): never => {
    throw { offset: i, reason };
  };
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  const shown = (c: string) => (c === undefined ? 'end of the text' : `"${/[\x00-\x1f\x7f]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c}"`);
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`unexpected ${shown(text[i])} (a "quoted" key was expected)`);
        string();
        ws();
        if (text[i] !== ':') fail(`unexpected ${shown(text[i])} (":" was expected after the key)`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('unexpected "}" after "," (a trailing comma is not JSON)');
          continue;
        }
        if (text[i] === '}') return void i++;
        fail(`unexpected ${shown(text[i])} ("," or "}" was expected)`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('unexpected "]" after "," (a trailing comma is not JSON)');
          continue;
        }
        if (text[i] === ']') return void i++;
        fail(`unexpected ${shown(text[i])} ("," or "]" was expected)`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      number();
      return;
    }
    for (const lit of ['true', 'false', 'null'])
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    fail(`unexpected ${shown(c)} (a value was expected)`);
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text[i];
      if (c === '"') return void i++;
      if (c < ' ') fail(`a control character ${shown(c)} inside a string (write it escaped)`);
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('a bad \\u escape');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`a bad escape ${shown(`\\${e ?? ''}`)}`);
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail(`a malformed number`);
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < n) fail(`unexpected ${shown(text[i])} after the end of the JSON value`);
  } catch (e) {
    if (e && typeof e === 'object' && 'offset' in e) return e as { offset: number; reason: string };
    throw e;
  }
  return undefined;
}

/** 1-based line and column of an offset (columns count UTF-16 units; CRLF counts as one line end). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < offset && k < text.length; k++)
    if (text[k] === '\n') {
      line++;
      start = k + 1;
    }
  return { line, column: offset - start + 1 };
}
