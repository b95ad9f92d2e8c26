/**
 * Where a JSON text goes wrong. V8's JSON.parse names the position in most
 * messages but not in "Unexpected token 'x', "…" is not valid JSON", so a
 * small validating scanner (run only after JSON.parse has failed) finds the
 * offset of the first character that cannot continue a valid text.
 */

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Offset of the first offending character of `s` (its length when it ends early), or -1 when `s` is valid JSON. */
export function jsonErrorOffset(s: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < s.length && WS.has(s.charCodeAt(i))) i++;
  };
  /** Advances past a string starting at i; false at the offending character. */
  const string = (): boolean => {
    i++;
    while (i < s.length) {
      const c = s[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (s.charCodeAt(i) < 0x20) return false;
      if (c === '\\') {
        i++;
        if (s[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(s[i + k] ?? '')) return ((i += k), false);
          i += 5;
        } else if (ESCAPES.has(s[i])) i++;
        else return false;
      } else i++;
    }
    return false;
  };
  const digits = (): boolean => {
    if (!isDigit(s[i])) return false;
    while (isDigit(s[i])) i++;
    return true;
  };
  const number = (): boolean => {
    if (s[i] === '-') i++;
    if (s[i] === '0') i++;
    else if (!digits()) return false;
    if (s[i] === '.' && (i++, !digits())) return false;
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (!digits()) return false;
    }
    return true;
  };
  const literal = (word: string): boolean => {
    for (let k = 0; k < word.length; k++, i++) if (s[i] !== word[k]) return false;
    return true;
  };
  const stack: ('[' | '{')[] = [];
  let wantValue = true;
  for (;;) {
    ws();
    if (wantValue) {
      const c = s[i];
      if (c === '[' || c === '{') {
        i++;
        ws();
        if (s[i] === (c === '[' ? ']' : '}')) i++;
        else {
          stack.push(c);
          if (c === '{') {
            if (s[i] !== '"' || !string()) return i;
            ws();
            if (s[i] !== ':') return i;
            i++;
          }
          continue;
        }
      } else if (c === '"') {
        if (!string()) return i;
      } else if (c === '-' || isDigit(c)) {
        if (!number()) return i;
      } else if (c === 't' || c === 'f' || c === 'n') {
        if (!literal(c === 't' ? 'true' : c === 'f' ? 'false' : 'null')) return i;
      } else return i;
      wantValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return i === s.length ? -1 : i;
    if (s[i] === ',') {
      i++;
      if (top === '{') {
        ws();
        if (s[i] !== '"' || !string()) return i;
        ws();
        if (s[i] !== ':') return i;
        i++;
      }
      wantValue = true;
    } else if (s[i] === (top === '[' ? ']' : '}')) {
      i++;
      stack.pop();
    } else return i;
  }
}
