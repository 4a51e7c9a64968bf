/**
 * Connects the helper pool (src/redirector) to the data path when `redirector.enable`.
 */
import type { Config } from '../config';
import type { Decider } from './context';
import type { Logger } from './server';

export async function startRedirector(_config: Config, _log: Logger): Promise<(Decider & { close(): Promise<void> }) | null> {
  throw new Error('redirector.enable: the helper pool is not wired to the data path yet');
}
