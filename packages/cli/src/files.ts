/** Inputs (files and folders of images), where their outputs go, and writing files whole. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { UsageError, reason } from './errors.js';

/** Image files the commands read and write (through sharp). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff'];

export const isImageName = (name: string) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** One image to work on, or an input that could not be listed (reported as a failure, the others still done). */
export type InputItem = { path: string; name: string; error?: undefined } | { path: string; name: string; error: string };

export interface Inputs {
  items: InputItem[];
  /** True when an input is a folder, or there are several: the output is then a folder. */
  many: boolean;
}

/**
 * Lists the images of the inputs: a file is itself (whatever its extension: sharp decides), a folder its image files
 * (not recursive, sorted, hidden files skipped). A missing input, or a folder without images, is an item with an error.
 */
export function listInputs(paths: string[], cwd: string): Inputs {
  const items: InputItem[] = [];
  let many = paths.length > 1;
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch (e) {
      items.push({ path: p, name: basename(p), error: reason(e) });
      continue;
    }
    if (st.isDirectory()) {
      many = true;
      let names: string[];
      try {
        names = readdirSync(abs)
          .filter((n) => !n.startsWith('.') && isImageName(n))
          .sort();
      } catch (e) {
        items.push({ path: p, name: basename(p), error: reason(e) });
        continue;
      }
      const files = names.filter((n) => statSync(join(abs, n)).isFile());
      if (!files.length) items.push({ path: p, name: basename(p), error: `no image files (${IMAGE_EXTENSIONS.join(', ')}) in this folder` });
      for (const n of files) items.push({ path: join(p, n), name: n });
    } else items.push({ path: p, name: basename(p) });
  }
  return { items, many };
}

export interface OutputPlan {
  /** Output path of each input item (by index). */
  paths: string[];
  /** The output is a folder (created when missing). */
  folder: boolean;
}

/**
 * Where each output goes: into the folder `out` under the input's name when there are several inputs, a folder
 * input, `out` is an existing folder or ends with a separator; else to the file `out`. Two outputs with one name,
 * an output that would overwrite its input, or an extension that is not an image format, are usage errors.
 */
export function planOutputs(inputs: Inputs, out: string, cwd: string): OutputPlan {
  const absOut = resolve(cwd, out);
  const folder = inputs.many || out.endsWith('/') || out.endsWith(sep) || (existsSync(absOut) && statSync(absOut).isDirectory());
  if (folder && inputs.many && isImageName(out) && !existsSync(absOut))
    throw new UsageError(`-o ${out}: several images (or a folder of them) are written into a folder; give a folder, not a file name`);
  if (!folder && !isImageName(out)) throw new UsageError(`-o ${out}: cannot tell the image format from the extension (use ${IMAGE_EXTENSIONS.join(', ')})`);
  const paths = inputs.items.map((it) => (folder ? join(absOut, it.name) : absOut));
  const seen = new Map<string, string>();
  inputs.items.forEach((it, i) => {
    if (it.error) return;
    const o = paths[i]!;
    if (resolve(cwd, it.path) === o) throw new UsageError(`${it.path}: the output would overwrite the input; choose another -o`);
    const other = seen.get(o);
    if (other !== undefined) throw new UsageError(`${other} and ${it.path} would both be written to ${o}; restore them into different folders`);
    seen.set(o, it.path);
    if (folder && !isImageName(it.name))
      throw new UsageError(`${it.path}: cannot tell the output format from the extension (use ${IMAGE_EXTENSIONS.join(', ')})`);
  });
  if (folder) mkdirSync(absOut, { recursive: true });
  else mkdirSync(dirname(absOut), { recursive: true });
  return { paths, folder };
}

/** Writes bytes under a temporary name in the same folder, then renames it into place (never a half-written file). */
export async function writeFileWhole(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
