// Ids of the embedded store's runs and inputs: uuid.uuid4().hex, as MLflow's SqlAlchemyStore makes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuid4Hex } from '../../src/tracking/sqlite/uuid.ts';

test('run ids are version 4 UUIDs in the form uuid.uuid4().hex gives, each new', () => {
  const ids = Array.from({ length: 1000 }, () => uuid4Hex());
  for (const id of ids) assert.match(id, /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  assert.equal(new Set(ids).size, 1000);
  // Every other hex digit varies: no byte is left as allocated.
  for (const position of [0, 11, 13, 17, 31]) assert.ok(new Set(ids.map((id) => id[position])).size > 8, `digit ${position}`);
});
