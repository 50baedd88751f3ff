import assert from 'node:assert/strict';
import { actions } from '../../activities';
import { exampleStepErrors } from '../support/example-steps';

// Each family's own test file also runs its examples against its local peer; this checks that every example in
// the catalog is a step a definition could save.
describe('activities: every action example is a valid step', () => {
  for (const action of actions) {
    for (const example of action.examples) {
      it(`${action.id}: ${example.title}`, () => {
        assert.deepEqual(exampleStepErrors(action, example), []);
      });
    }
  }
});
