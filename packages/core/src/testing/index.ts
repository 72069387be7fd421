export { checkBlock, countLeaks, HarnessError } from './harness.js';
export type { BlockCheckSpec, BlockCheckReport } from './harness.js';
export {
  checkBuffersAfter,
  loadFixture,
  fixtureTensor,
  loadFixtureWeights,
  compareWithFixture,
  compareArrays,
  diffToScale,
  fixtureManifest,
  readShared,
  setSharedDir,
  setFixtureReader,
} from './fixtures.js';
export type { Fixture, FixtureManifestEntry, FixtureOutputInfo, Comparison, FixtureReader } from './fixtures.js';
export { checkFixture, expectNoLeaks } from './check-fixture.js';
export type { CheckFixtureOptions, FixtureCheck } from './check-fixture.js';
export { blocksRegisteredBy, checkRegisteredBlocks } from './coverage.js';
