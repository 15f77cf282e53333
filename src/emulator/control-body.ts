/** The control API's JSON bodies: validated by zod (absent means `{}`), or a 400 listing every issue. */
import type { Request, Response } from 'express';
import type { z } from 'zod';

export function parse<T extends z.ZodType>(
  schema: T,
  request: Request,
  response: Response,
): z.infer<T> | undefined {
  const result = schema.safeParse(request.body ?? {});
  if (result.success) return result.data;
  response.status(400).json({
    error: 'invalid_request',
    issues: result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  });
  return undefined;
}
