// Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart, indented
// by two spaces, no trailing blanks (so they read well in a terminal and paste into a ticket).
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}
