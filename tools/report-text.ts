// Text helpers for the Markdown documents the project writes (post-mortem drafts, drill reports):
// escaping of untrusted text (alarm names, reasons, broker output) so it reads as written and can
// never turn into Markdown structure or raw HTML, tables, and the duration wording people read.

/**
 * Characters that mean something inline in CommonMark/GFM: emphasis, code, links, tables,
 * strikethrough, math. `<` only where it could open raw HTML or an autolink, `&` only where it
 * could form an entity, so arrows and comparisons (`->`, `<= 120 s`) stay readable.
 */
const INLINE_SPECIAL = /[\\`*_[\]|~$]|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)/g;
/** Line starts that would open a block: quote, heading, bullet, ordered item. */
const BLOCK_START = /^(>|#{1,6}(?=\s|$)|[-+](?=\s|$)|\d{1,9}(?=[.)](?:\s|$)))/;
/** A line of only `-`/`=` (and spaces) would be a thematic break or turn the previous line into a heading. */
const RULE_LINE = /^[-=\s]+$/;
// C0 controls except tab/newline/carriage return (turned into spaces below), DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * Escapes untrusted text for one line of Markdown (a paragraph, a list item, a table cell):
 * line breaks become spaces, control characters go, and every character that could start
 * emphasis, a link, code, raw HTML, a table column, math or a block is backslash-escaped.
 */
export function escapeMarkdown(text: string): string {
  const oneLine = text
    .replace(CONTROL, '')
    .replace(/[\t\r\n]+/g, ' ')
    .trim();
  if (RULE_LINE.test(oneLine)) return oneLine.replace(/[-=]/g, (c) => `\\${c}`);
  const inline = oneLine.replace(INLINE_SPECIAL, (c) => `\\${c}`);
  return inline.replace(BLOCK_START, (c) => (/^\d/.test(c) ? `${c}\\` : `\\${c}`));
}

/** A GFM table; every header and cell is escaped, empty cells stay valid. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => escapeMarkdown(c) || ' ').join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** A bullet list of escaped items (or one `none` placeholder). */
export function markdownList(items: readonly string[], empty = 'None recorded.'): string {
  if (items.length === 0) return `- ${escapeMarkdown(empty)}`;
  return items.map((i) => `- ${escapeMarkdown(i)}`).join('\n');
}

/** `41.8 s`, `2 min 5 s`, `1 h 3 min`; `n/a` when unknown. Tenths below a minute, whole seconds above. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'n/a';
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(seconds);
  if (abs < 60) return `${sign}${Number(abs.toFixed(1))} s`;
  const total = Math.round(abs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${sign}${h} h${m ? ` ${m} min` : ''}`;
  if (m > 0) return `${sign}${m} min${s ? ` ${s} s` : ''}`;
  return `${sign}${s} s`;
}

/** An offset from the fault as `T+12.3s` / `T-5s` (one decimal, trailing zeros dropped). */
export function formatOffset(seconds: number): string {
  const rounded = Number(seconds.toFixed(1));
  return `T${rounded < 0 ? '-' : '+'}${Math.abs(rounded)}s`;
}

/** Seconds between two ISO times (b - a), or null when either is missing or unparseable. */
export function secondsBetween(a: string | undefined, b: string | undefined): number | null {
  if (!a || !b) return null;
  const start = Date.parse(a);
  const end = Date.parse(b);
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return (end - start) / 1000;
}
