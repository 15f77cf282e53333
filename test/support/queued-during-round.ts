/**
 * What a Tryton save queues when a round of the same calendar or account ends during the save
 * (docs/contracts.md, "The module's trigger", "Queueing from Tryton"). Tryton's transactions are
 * repeatable read: once a worker has changed the queue's row after the save's transaction began,
 * graphile-worker's `add_job` cannot upsert that row. The save runs in such a transaction, a
 * no-op update of the queue's row from another connection standing for the worker releasing the
 * queue; the answer is the jobs of `task` for `payload` the save added (their key and queue), as the
 * saving transaction sees them before it is rolled back (nothing stays behind, nothing runs).
 */
import type { Knex } from 'knex';

const JOBS = 'google_integration_jobs';

export async function jobsQueuedWhileARoundEnds(
  db: Knex,
  queueName: string,
  task: string,
  payload: Record<string, number>,
  save: (trx: Knex.Transaction) => Promise<unknown>,
): Promise<Array<{ key: string | null; queue_name: string | null }>> {
  await db.raw(`INSERT INTO ${JOBS}._private_job_queues (queue_name) VALUES (?) ON CONFLICT DO NOTHING`, [
    queueName,
  ]);
  const trx = await db.transaction({ isolationLevel: 'repeatable read' });
  try {
    const jobs = async () =>
      (
        await trx.raw(
          `SELECT j.id, j.key, q.queue_name
             FROM ${JOBS}._private_jobs AS j
             JOIN ${JOBS}._private_tasks AS t ON t.id = j.task_id
             LEFT JOIN ${JOBS}._private_job_queues AS q ON q.id = j.job_queue_id
            WHERE t.identifier = ? AND j.payload::jsonb @> ?::jsonb`,
          [task, JSON.stringify(payload)],
        )
      ).rows as Array<{ id: string; key: string | null; queue_name: string | null }>;
    // The transaction's snapshot is taken by its first statement.
    const before = new Set((await jobs()).map((job) => job.id));
    await db.raw(`UPDATE ${JOBS}._private_job_queues SET locked_at = locked_at WHERE queue_name = ?`, [
      queueName,
    ]);
    await save(trx);
    return (await jobs())
      .filter((job) => !before.has(job.id))
      .map(({ key, queue_name }) => ({ key, queue_name }));
  } finally {
    await trx.rollback();
  }
}
