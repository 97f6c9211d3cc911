// Builds a schema from introspection answers the way GraphQL tools do, and compares it with
// the committed SDL.
//
//   node schema-from-introspection.mjs <schema.graphql> <answer.json>...
//
// Each answer is the JSON body the server sent for an introspection query. For each: the
// answer must have no errors, graphql-js's `buildClientSchema` must build a valid schema from
// its `data`, and that schema printed (`printSchema`) must equal the committed SDL printed
// the same way (less the scalars' `@specifiedBy` when the query did not ask for
// `specifiedByURL`: graphql-js's default query does not). Prints one line per answer; exits
// 1 with a diff on the first difference.
import { readFileSync } from 'node:fs';
import { assertValidSchema, buildClientSchema, buildSchema, printSchema } from 'graphql';

const [sdlPath, ...answers] = process.argv.slice(2);
if (!sdlPath || answers.length === 0) {
  console.error('usage: node schema-from-introspection.mjs <schema.graphql> <answer.json>...');
  process.exit(2);
}
const expected = printSchema(buildSchema(readFileSync(sdlPath, 'utf8')));

function firstDifference(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) {
      const from = Math.max(0, i - 3);
      return `line ${i + 1}:\n--- committed\n${left.slice(from, i + 4).join('\n')}\n` +
        `+++ from introspection\n${right.slice(from, i + 4).join('\n')}`;
    }
  }
  return 'no difference';
}

for (const path of answers) {
  const body = JSON.parse(readFileSync(path, 'utf8'));
  if (body.errors) {
    console.error(`${path}: the server answered errors: ${JSON.stringify(body.errors)}`);
    process.exit(1);
  }
  const schema = buildClientSchema(body.data);
  assertValidSchema(schema);
  const printed = printSchema(schema);
  const askedSpecifiedBy = body.data.__schema.types.some((t) => 'specifiedByURL' in t);
  const wanted = askedSpecifiedBy ? expected : expected.replace(/ @specifiedBy\(url: "[^"]*"\)/g, '');
  if (printed !== wanted) {
    console.error(`${path}: the schema built from introspection differs from ${sdlPath}, ` +
      `first at ${firstDifference(wanted, printed)}`);
    process.exit(1);
  }
  const types = Object.keys(schema.getTypeMap()).filter((t) => !t.startsWith('__'));
  console.log(`${path}: ${types.length} types, equal to ${sdlPath}`);
}
