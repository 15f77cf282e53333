/** Runs `runEmulatorCommand` in a child process, as `tryton-google emulator` will once src/cli.ts wires it. */
import { runEmulatorCommand } from '../../src/emulator/cli.js';

runEmulatorCommand(process.argv.slice(2), process.env).catch((error: unknown) => {
  process.stderr.write(`emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(64);
});
