// Text from alarms, alerts and incident timelines reaches the operator's terminal through the
// CLI. A crafted alert label or summary can carry escape sequences (clear the screen, rewrite a
// line, set the window title, hide text with a bidirectional override), so every line the CLI
// writes shows such characters as visible escapes instead: ESC becomes \x1b, U+202E \u202e.
// Newlines and tabs are layout and stay; JSON output is already escaped by JSON.stringify.

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
