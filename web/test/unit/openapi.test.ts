// The typed client against docs/openapi.yaml: the generated types are current (tsc checks every call
// against them in `npm run build`), and every route the client calls is an operation of the spec.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error plain ESM script without types
import { generate, outPath, specPath } from '../../scripts/gen-api.mjs';

test('src/api/schema.gen.ts is generated from the current docs/openapi.yaml (npm run gen:api)', async () => {
  expect(readFileSync(outPath, 'utf8')).toBe(await generate());
});

test('every route the client calls is in the spec', () => {
  const spec = readFileSync(specPath, 'utf8');
  const ops = new Set<string>();
  let path = '';
  for (const line of spec.split('\n')) {
    const p = /^ {2}(\/\S*):\s*$/.exec(line);
    if (p) path = p[1];
    else if (/^\S/.test(line)) path = '';
    const m = /^ {4}(get|put|post|patch|delete):/.exec(line);
    if (m && path) ops.add(`${m[1]} ${path}`);
  }
  const client = readFileSync(resolve(import.meta.dirname, '../../src/api/client.ts'), 'utf8');
  const used = [...client.matchAll(/this\.call\('(\w+)', '([^']+)'/g)].map((m) => `${m[1]} ${m[2]}`);
  expect(used.length).toBeGreaterThan(30);
  for (const u of used) expect(ops, u).toContain(u);
});
