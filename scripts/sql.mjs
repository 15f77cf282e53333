// Runs one SQL statement and prints the first column of the first row (empty when none), for the
// shell scripts: they need no psql, so they work where PostgreSQL's client is not installed.
//   node scripts/sql.mjs postgresql://user@host:port/database "SELECT ..."
import pg from 'pg';

const [uri, statement] = process.argv.slice(2);
const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 10_000 });
try {
  await client.connect();
  const result = await client.query({ text: statement, rowMode: 'array' });
  const value = result.rows[0]?.[0];
  if (value !== undefined && value !== null) console.log(String(value));
} catch (error) {
  console.error(`sql: ${error.message}`);
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
