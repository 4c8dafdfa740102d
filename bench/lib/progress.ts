/**
 * Progress on stderr, so stdout stays clean for the tables or --json. On a terminal a status line
 * is rewritten in place; otherwise each update is its own line (throttled).
 */

const tty = process.stderr.isTTY === true;
let open = false;
let lastLine = 0;

export function status(text: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[2K${text}`);
    open = true;
    return;
  }
  const now = Date.now();
  if (now - lastLine < 900) return;
  lastLine = now;
  process.stderr.write(`${text}\n`);
}

export function note(text: string): void {
  if (open) {
    process.stderr.write('\r\x1b[2K');
    open = false;
  }
  lastLine = 0;
  process.stderr.write(`${text}\n`);
}
