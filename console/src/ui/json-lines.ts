// Where each value of a JSON text starts: a small parser that records the
// offset of every path (`execute[1].polling.interval`), so a problem the
// API reports at a path can point at its line in the editor.

/** Path → offset of its value (for a key: of the key). Empty if the text is not JSON. */
export function pathOffsets(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string, at: number) => {
    ws();
    out.set(path, at);
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        const keyAt = i;
        const k = str();
        ws();
        i++; // :
        value(path ? `${path}.${k}` : k, keyAt);
        ws();
        if (text[i++] !== ",") return;
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (let n = 0; ; n++) {
        ws();
        value(`${path}[${n}]`, i);
        ws();
        if (text[i++] !== ",") return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && /[^\s,\]}]/.test(text[i])) i++;
    }
  };
  try {
    value("", 0);
  } catch {
    return new Map();
  }
  return out;
}

/** The 1-based line of `path` in the text, or of its nearest parent found. */
export function lineOf(text: string, path: string): number | null {
  const offsets = pathOffsets(text);
  let p = path;
  for (;;) {
    const at = offsets.get(p);
    if (at !== undefined && p !== "") return text.slice(0, at).split("\n").length;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) return null;
    p = p.slice(0, cut);
  }
}

/** The [start, end) offsets of the 1-based `line`. */
export function lineRange(text: string, line: number): [number, number] {
  let start = 0;
  for (let n = 1; n < line; n++) start = text.indexOf("\n", start) + 1;
  const end = text.indexOf("\n", start);
  return [start, end < 0 ? text.length : end];
}
