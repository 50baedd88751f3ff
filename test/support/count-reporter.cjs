'use strict';
// Mocha's spec output, then one plain closing line `N passed, N failed[, N skipped]` that CI reads.
const Mocha = require('mocha');

class CountReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats ?? {};
      // Printed after Spec's epilogue, which also listens for the end of the run.
      process.nextTick(() => {
        process.stdout.write(`\n${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}\n`);
      });
    });
  }
}

module.exports = CountReporter;
