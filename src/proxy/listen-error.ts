/**
 * A listener that cannot listen, as the one start-up line naming its option: the proxy's
 * extra listeners (`tls.*`, `icap.*`) share the wording.
 */
import { StartError } from '../supervisor/start-errors';
import type { Listen } from './settings';

/** A failure to listen as one line naming the `section`'s option (else the error itself). */
export function listenError(error: unknown, listen: Listen[], section: string): unknown {
  const err = error as NodeJS.ErrnoException & { address?: string };
  const at = listen.find((l) => l.host === err.address) ?? listen[0]!;
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  const option = at.host === listen[0]!.host ? `${section}.host` : `${section}.ipv6`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartError(`exaproxy: ${section}.port ${at.port}: ${where} is already in use by another program; stop it or choose another ${section}.port`);
    case 'EADDRNOTAVAIL':
      return new StartError(`exaproxy: ${option} ${at.host}: not an address of this machine; choose one of its addresses`);
    case 'EACCES':
    case 'EPERM':
      return new StartError(at.port < 1024
        ? `exaproxy: ${section}.port ${at.port}: ports below 1024 need root or CAP_NET_BIND_SERVICE; start exaproxy as root (it switches to daemon.user once bound) or choose a port above 1023`
        : `exaproxy: ${section}.port ${at.port}: not allowed to listen on ${where} (${err.code}); choose another ${section}.port`);
    default:
      return error;
  }
}
