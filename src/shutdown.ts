/** Stops a long-running command cleanly on SIGTERM/SIGINT: one place for the sidecar and the emulator. */
import type { Logger } from './log.js';

export function closeOnSignals(close: () => Promise<void>, logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
