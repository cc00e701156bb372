/** Progress lines of the CLI scripts: `[prefix +1.2s] message` on stderr. */
export function progressLine(prefix: string, enabled = true): (line: string) => void {
  const started = Date.now();
  return (line) => {
    if (enabled) process.stderr.write(`[${prefix} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  };
}
