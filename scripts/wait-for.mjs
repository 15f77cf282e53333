// Waits until every URL given answers over HTTP (any status), for at most WAIT_SECONDS (120), saying
// what it still waits for every few seconds; exits 1 naming what never answered.
//   node scripts/wait-for.mjs http://127.0.0.1:8000/ http://127.0.0.1:8765/readyz ...
const urls = process.argv.slice(2);
const deadline = Date.now() + Number(process.env.WAIT_SECONDS ?? 120) * 1000;
const pending = new Set(urls);
let said = 0;
while (pending.size > 0 && Date.now() < deadline) {
  for (const url of [...pending]) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      pending.delete(url);
    } catch {
      // Not up yet.
    }
  }
  if (pending.size > 0) {
    if (Date.now() - said > 5_000) {
      console.error(`waiting for ${[...pending].join(', ')}`);
      said = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
if (pending.size > 0) {
  console.error(`no answer from ${[...pending].join(', ')}`);
  process.exit(1);
}
