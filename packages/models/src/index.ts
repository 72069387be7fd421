export { registerModel, createModel, loadModelWeights, fromOfficialConfig, getModelSpec, listModels } from './registry.js';
export type { ModelPreset, ModelSpec, CreateModelOptions, ModelListing, ModelClasses, ModelOf, OfficialArgs } from './registry.js';
// Model families (each file registers itself):
import './restormer.js';
export * from './restormer.js';
import './anyir.js';
export * from './anyir.js';
import './drcnet.js';
export * from './drcnet.js';
import './fsdrnet.js';
export * from './fsdrnet.js';
import './lcdnet.js';
export * from './lcdnet.js';
import './compact.js';
export * from './compact.js';
