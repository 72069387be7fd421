/** Reads and writes files under benchmarks/ from Node or from the browser (vitest's server commands). */
export const isBrowser = typeof window !== 'undefined' && typeof (globalThis as { process?: unknown }).process === 'undefined';

export async function writeText(rel: string, text: string): Promise<void> {
  if (isBrowser) {
    const { commands } = await import('vitest/browser');
    await commands.writeFile(rel, text);
  } else {
    const fs = await import('node:fs');
    const url = await import('node:url');
    const path = await import('node:path');
    const file = url.fileURLToPath(new URL(`../${rel}`, import.meta.url));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

export async function readText(rel: string): Promise<string | null> {
  try {
    if (isBrowser) return await (await import('vitest/browser')).commands.readFile(rel);
    const fs = await import('node:fs');
    const url = await import('node:url');
    return fs.readFileSync(url.fileURLToPath(new URL(`../${rel}`, import.meta.url)), 'utf8');
  } catch {
    return null;
  }
}
