/** Runs once per vitest run: checks PostgreSQL is there and builds the standalone template. */
import { buildStandaloneTemplate, withAdmin } from './postgres.js';

export default async function setup(): Promise<void> {
  try {
    await withAdmin((admin) => admin.raw('SELECT 1'));
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable (${error instanceof Error ? error.message : error}); start it or set TEST_POSTGRES_URI`,
    );
  }
  await buildStandaloneTemplate();
}
