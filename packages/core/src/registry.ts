import { RegistryError, ConfigError } from './errors.js';
import { canonicalName, suggestOption } from './options.js';

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
    return this.resolveName(type) !== null;
  }
  list(): string[] {
    return [...this.entries.keys()].sort();
  }
  /**
   * The entry of `type`. Case and underscores are ignored when the exact name is not registered, because
   * tfjs-layers re-cases string values in saved models ('LayerNorm2d' comes back as 'layerNorm2d', 'MDTA' as 'mdta').
   */
  get(type: string): RegistryEntry<T> {
    const e = this.entries.get(type) ?? this.entries.get(this.resolveName(type) ?? '');
    if (!e) {
      const hint = suggestOption(type, this.list());
      throw new RegistryError(
        `unknown ${this.kind} type '${type}'${hint ? ` (did you mean '${hint}'?)` : ''} (registered: ${this.list().join(', ') || 'none'})`,
      );
    }
    return e;
  }
  /** The registered spelling of `type` (exact, or equal but for case and underscores), or null. */
  resolveName(type: string): string | null {
    if (this.entries.has(type)) return type;
    const c = canonicalName(type);
    return [...this.entries.keys()].find((k) => canonicalName(k) === c) ?? null;
  }
  /** Creates a component from `{ type, ...options }`. */
  create(config: ComponentConfig): T {
    if (config === null || typeof config !== 'object' || Array.isArray(config))
      throw new ConfigError(`${this.kind} config must be an object { type, ...options }, got ${JSON.stringify(config)}`);
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
