export { SCAM } from './scam.js';
export type { SCAMOptions, SCAMVariant } from './scam.js';
