/** Progress lines on stderr, with the seconds since the run started; the summary goes to stdout. */
const started = Date.now();

export function elapsed(): string {
  return `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
}

export function log(message: string): void {
  process.stderr.write(`[local-ecs ${elapsed()}] ${message}\n`);
}
