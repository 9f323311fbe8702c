// Stable JSON text: two-space indent; a value is kept on one line when it fits in WIDTH columns
// or sits at depth >= inlineDepth (one operation, one property, one subresource per line).
// Same input, same bytes; key order is the caller's.

const WIDTH = 120;

export function formatJson(value: unknown, inlineDepth = Infinity): string {
  return `${format(value, '', 0, inlineDepth)}\n`;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

function format(value: unknown, indent: string, depth: number, inlineDepth: number): string {
  const flat = inline(value);
  if (value === null || typeof value !== 'object' || depth >= inlineDepth || indent.length + flat.length <= WIDTH) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + format(v, inner, depth + 1, inlineDepth)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner, depth + 1, inlineDepth)}`).join(',\n')}\n${indent}}`;
}
