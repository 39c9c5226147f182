// Generates src/api/schema.gen.ts (TypeScript types of every path and schema) from
// ../docs/openapi.yaml with openapi-typescript. The typed client (src/api/client.ts) is written
// against these types, so `tsc` fails when the contract and the client disagree; the unit test
// test/unit/openapi.test.ts fails when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

export const specPath = fileURLToPath(new URL('../../docs/openapi.yaml', import.meta.url));
export const outPath = fileURLToPath(new URL('../src/api/schema.gen.ts', import.meta.url));

export async function generate() {
  const ast = await openapiTS(readFileSync(specPath, 'utf8'), { exportType: true, alphabetize: false });
  return '// Generated from docs/openapi.yaml by web/scripts/gen-api.mjs (npm run gen:api). Do not edit.\n' +
    '/* eslint-disable */\n' + astToString(ast);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(outPath, await generate());
  console.log('wrote', outPath);
}
