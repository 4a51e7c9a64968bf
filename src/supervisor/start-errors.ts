// Start-up failures a user can fix, as the one line the command prints (no stack): the cause
// and what to change. A StartError's message is that whole line, "exaproxy: …".

export class StartError extends Error {
  override readonly name = 'StartError';
}

/** A proxy listening address and the options that set it, to name them in the error. */
export interface ListenSetting {
  /** "tcp4" or "tcp6" */
  family: 'tcp4' | 'tcp6';
  host: string;
  port: number;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The one line for an error thrown while a worker started its data path. Listening errors
 * (node:cluster reports the primary's bind failure to the worker) name the option and what to
 * do; anything else keeps its own message.
 */
export function startFailureLine(error: unknown, listen: readonly ListenSetting[]): string {
  if (error instanceof StartError) return error.message;
  const err = error as NodeJS.ErrnoException & { port?: number; address?: string };
  const code = err.code;
  // node:cluster's errors carry the port; the host may be missing ("null"), so match on the port.
  const setting = listen.find((l) => l.port === err.port) ?? (listen.length === 1 ? listen[0] : undefined);
  if (setting !== undefined && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'EPERM')) {
    const where = hostPort(setting.host, setting.port);
    const option = `${setting.family}.port ${setting.port}`;
    switch (code) {
      case 'EADDRINUSE':
        return `exaproxy: ${option}: ${where} is already in use by another program; stop it or choose another ${setting.family}.port`;
      case 'EADDRNOTAVAIL':
        return `exaproxy: ${setting.family}.host ${setting.host}: not an address of this machine; choose one of its addresses (or ${setting.family === 'tcp4' ? '0.0.0.0' : '::'} for all)`;
      default:
        return setting.port < 1024
          ? `exaproxy: ${option}: ports below 1024 need root or CAP_NET_BIND_SERVICE; start exaproxy as root (it switches to daemon.user once bound) or choose a port above 1023`
          : `exaproxy: ${option}: not allowed to listen on ${where} (${code}); choose another ${setting.family}.port`;
    }
  }
  const message = err instanceof Error ? err.message : String(error);
  return message.startsWith('exaproxy: ') ? message : `exaproxy: cannot start: ${message}`;
}
