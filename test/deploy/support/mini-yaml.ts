/**
 * A small YAML reader for docker-compose.yml, enough for the subset that file is written in: block
 * mappings and sequences, flow sequences and mappings on one line, plain, single- and double-quoted
 * scalars, comments. Anchors, tags, multi-line scalars and documents are refused loudly rather than
 * misread. (The npm package `yaml` is not a dependency of the project.)
 */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly number: number;
  readonly indent: number;
  readonly text: string;
}

function fail(line: Line | undefined, message: string): never {
  throw new Error(`YAML line ${line?.number ?? 'end'}: ${message}${line ? `: ${line.text}` : ''}`);
}

/** The line without its comment (a # at the start or after a space, outside quotes). */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === '\\' && quote === '"') index++;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      if (index === 0 || /[\s[{,:-]/.test(text[index - 1] as string)) quote = char;
    } else if (char === '#' && (index === 0 || /\s/.test(text[index - 1] as string))) {
      return text.slice(0, index).trimEnd();
    }
  }
  return text.trimEnd();
}

function scalar(raw: string, line: Line): YamlValue {
  const text = raw.trim();
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) fail(line, 'unterminated double-quoted scalar');
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail(line, 'unterminated single-quoted scalar');
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[&*!|>%@`]/.test(text)) fail(line, 'unsupported YAML construct');
  if (text === '' || text === '~' || text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

/** Flow collections on one line: [a, "b", {c: d}] and {a: b, c: [d]}. */
function flow(text: string, line: Line): YamlValue {
  let position = 0;
  const skip = () => {
    while (position < text.length && /\s/.test(text[position] as string)) position++;
  };
  const item = (stops: string): string => {
    skip();
    const start = position;
    let quote: string | null = null;
    for (; position < text.length; position++) {
      const char = text[position] as string;
      if (quote) {
        if (char === '\\' && quote === '"') position++;
        else if (char === quote) quote = null;
      } else if ((char === '"' || char === "'") && position === start) quote = char;
      else if (stops.includes(char)) break;
    }
    return text.slice(start, position);
  };
  const value = (): YamlValue => {
    skip();
    const char = text[position];
    if (char === '[') {
      position++;
      const list: YamlValue[] = [];
      skip();
      if (text[position] === ']') {
        position++;
        return list;
      }
      for (;;) {
        list.push(value());
        skip();
        const next = text[position++];
        if (next === ']') return list;
        if (next !== ',') fail(line, 'expected , or ] in a flow sequence');
      }
    }
    if (char === '{') {
      position++;
      const map: { [key: string]: YamlValue } = {};
      skip();
      if (text[position] === '}') {
        position++;
        return map;
      }
      for (;;) {
        const key = scalar(item(':,}'), line);
        if (text[position++] !== ':') fail(line, 'expected : in a flow mapping');
        map[String(key)] = value();
        skip();
        const next = text[position++];
        if (next === '}') return map;
        if (next !== ',') fail(line, 'expected , or } in a flow mapping');
      }
    }
    return scalar(item(',]}'), line);
  };
  const result = value();
  skip();
  if (position !== text.length) fail(line, 'text after a flow collection');
  return result;
}

function inline(text: string, line: Line): YamlValue {
  return text.startsWith('[') || text.startsWith('{') ? flow(text, line) : scalar(text, line);
}

/** Splits `key: value` (or `key:`) outside quotes; undefined when the text is not a mapping entry. */
function entry(text: string): [string, string] | undefined {
  let quote: string | null = null;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === '\\' && quote === '"') index++;
      else if (char === quote) quote = null;
    } else if ((char === '"' || char === "'") && index === 0) quote = char;
    else if (char === '[' || char === '{') {
      if (index === 0) return undefined;
    } else if (char === ':' && (index === text.length - 1 || text[index + 1] === ' ')) {
      return [text.slice(0, index), text.slice(index + 1).trim()];
    }
  }
  return undefined;
}

export function parseYaml(source: string): YamlValue {
  const lines: Line[] = [];
  for (const [index, raw] of source.split(/\r?\n/).entries()) {
    if (raw.includes('\t') && /^\s*\t/.test(raw)) throw new Error(`YAML line ${index + 1}: tab indentation`);
    const text = stripComment(raw);
    if (text.trim() === '') continue;
    if (text.trim() === '---' || text.trim() === '...') throw new Error(`YAML line ${index + 1}: documents`);
    lines.push({ number: index + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  }
  let cursor = 0;

  const isItem = (line: Line) => line.text === '-' || line.text.startsWith('- ');

  function block(indent: number): YamlValue {
    const line = lines[cursor];
    if (!line || line.indent < indent) return null;
    return isItem(line) ? sequence(line.indent) : mapping(line.indent);
  }

  function valueAfterKey(rest: string, line: Line, indent: number): YamlValue {
    if (rest !== '') return inline(rest, line);
    const next = lines[cursor];
    if (!next) return null;
    if (next.indent > indent) return block(next.indent);
    // compose files often put a key's sequence at the key's own indentation
    if (next.indent === indent && isItem(next)) return sequence(indent);
    return null;
  }

  function mapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (;;) {
      const line = lines[cursor];
      if (!line || line.indent < indent || (line.indent === indent && isItem(line))) return map;
      if (line.indent > indent) fail(line, 'unexpected indentation');
      const split = entry(line.text);
      if (!split) fail(line, 'expected key: value');
      const key = String(scalar(split[0], line));
      if (key in map) fail(line, `duplicate key ${key}`);
      cursor++;
      map[key] = valueAfterKey(split[1], line, indent);
    }
  }

  function sequence(indent: number): YamlValue[] {
    const list: YamlValue[] = [];
    for (;;) {
      const line = lines[cursor];
      if (!line || line.indent !== indent || !isItem(line)) {
        if (line && line.indent > indent) fail(line, 'unexpected indentation');
        return list;
      }
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        cursor++;
        const next = lines[cursor];
        list.push(next && next.indent > indent ? block(next.indent) : null);
      } else if (entry(rest) && !rest.startsWith('"') && !rest.startsWith("'")) {
        // `- key: value` opens a mapping whose keys line up with `key`
        const inner = indent + (line.text.length - rest.length);
        lines[cursor] = { number: line.number, indent: inner, text: rest };
        list.push(mapping(inner));
      } else {
        cursor++;
        list.push(inline(rest, line));
      }
    }
  }

  const result = block(0);
  if (cursor !== lines.length) fail(lines[cursor], 'unexpected indentation');
  return result;
}
