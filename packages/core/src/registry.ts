import { RegistryError, ConfigError } from './errors.js';

/** A component config: `{ type: 'Name', ...options }` (BasicSR style). */
export interface ComponentConfig {
  type: string;
  [option: string]: unknown;
}

export interface RegistryEntry<T> {
  create: (options: Record<string, unknown>) => T;
  /** Returns the options that `create` needs to rebuild an equal component. */
  toOptions?: (component: T) => Record<string, unknown>;
  description?: string;
}

/** One registry per kind of component (blocks, models, losses, metrics). Explicit registration only. */
export class Registry<T> {
  private readonly entries = new Map<string, RegistryEntry<T>>();
  constructor(readonly kind: string) {}

  register(type: string, entry: RegistryEntry<T>, opts: { override?: boolean } = {}): void {
    if (!type || typeof type !== 'string') throw new RegistryError(`${this.kind} registry: type must be a non-empty string`);
    if (this.entries.has(type) && !opts.override) throw new RegistryError(`${this.kind} registry: '${type}' is already registered`);
    this.entries.set(type, entry);
  }
  has(type: string): boolean {
    return this.entries.has(type);
  }
  list(): string[] {
    return [...this.entries.keys()].sort();
  }
  get(type: string): RegistryEntry<T> {
    const e = this.entries.get(type);
    if (!e) throw new RegistryError(`unknown ${this.kind} type '${type}' (registered: ${this.list().join(', ') || 'none'})`);
    return e;
  }
  /** Creates a component from `{ type, ...options }`. */
  create(config: ComponentConfig): T {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConfigError(`${this.kind} config must be an object { type, ...options }, got ${JSON.stringify(config)}`);
    const { type, ...options } = config;
    if (typeof type !== 'string') throw new ConfigError(`${this.kind} config needs a string 'type', got ${JSON.stringify(type)}`);
    return this.get(type).create(options);
  }
  /** The `{ type, ...options }` config of a component created by this registry. */
  toConfig(type: string, component: T): ComponentConfig {
    const e = this.get(type);
    if (!e.toOptions) throw new RegistryError(`${this.kind} '${type}' cannot describe its instances as a config`);
    return { type, ...e.toOptions(component) };
  }
}
