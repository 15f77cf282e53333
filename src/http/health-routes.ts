/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: PostgreSQL answers). */
import express, { type Router } from 'express';
import type { ServedDatabases } from '../db/served-databases.js';

export function healthRoutes(databases: ServedDatabases, readinessDatabase: string): Router {
  const router = express.Router();
  router.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  router.get('/readyz', async (_request, response) => {
    const checks = await databases.check(readinessDatabase);
    const ready = Object.values(checks).every((status) => status === 'ok');
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', databases: checks });
  });
  return router;
}
