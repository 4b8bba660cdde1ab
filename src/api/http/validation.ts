// Request validation with zod: one `errors` entry per problem, paths as dotted strings (`items.0.quantity`).
import type { z } from 'zod';
import { HttpProblem, type FieldError } from './problem';

function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // One entry per unexpected field, so each points at the field to remove.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'is not an allowed field' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}

type RequestPart = 'body' | 'query' | 'headers';

function invalidRequest(part: RequestPart, errors: FieldError[]): HttpProblem {
  return new HttpProblem(400, `the request ${part} is invalid: see errors`, {
    type: '/problems/invalid-request',
    title: 'Invalid request',
    errors,
  });
}

export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalidRequest(part, fieldErrors(result.error.issues));
  return result.data;
}
