// Crash-safe file writes for certificates, keys and kubeconfigs.
import { open, rename, unlink } from 'node:fs/promises';

/** Write via a temporary file, fsync and rename, so a crash never leaves a half-written file; `mode` applies even when replacing. */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // open()'s mode is filtered by the umask; make it exact
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
