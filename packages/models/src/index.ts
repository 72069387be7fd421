export { registerModel, createModel, getModelSpec, listModels } from './registry.js';
export type { ModelPreset, ModelSpec, CreateModelOptions, ModelListing } from './registry.js';
// Model families (each file registers itself):
