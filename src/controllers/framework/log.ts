// A minimal logger for the controller framework: one line per message on stderr.
// Info lines only with K8TS_LOG=info or debug; warnings and errors always.

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const verbose = /^(info|debug)$/i.test(process.env.K8TS_LOG ?? '');

export function stderrLogger(component: string): Logger {
  const line = (level: string, msg: string) => process.stderr.write(`${new Date().toISOString()} ${level} ${component}: ${msg}\n`);
  return {
    info: (msg) => {
      if (verbose) line('I', msg);
    },
    warn: (msg) => line('W', msg),
    error: (msg) => line('E', msg),
  };
}

/** Drops everything (tests). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
