// One global fixture starts (or reuses) real Temporal and MongoDB-wire services for every test file.
module.exports = {
  require: ['tsx/cjs', 'test/support/global-fixture.ts'],
  extension: ['ts'],
  timeout: 60_000,
  slow: 5_000,
  reporter: 'test/support/count-reporter.cjs',
};
