/**
 * The ICAP listener (`icap.enable`): listening sockets whose connections speak ICAP
 * (IcapConnection). It shares the worker's context — helpers, pages, stats, access log —
 * and has its own address, connection limit, PROXY-protocol switch and head limit.
 */
import type { Socket } from 'node:net';
import type { ProxyContext } from '../proxy/context';
import { Listener } from '../proxy/listener';
import { IcapConnection, type IcapContext } from './connection';
import { icapError, type IcapService } from './respond';
import type { IcapListenerSettings } from './settings';

/** A Listener serving IcapConnections with the worker's context and the ICAP listener's settings. */
export function icapListener(ctx: ProxyContext, icap: IcapListenerSettings): Listener {
  const service: IcapService = { istag: icap.istag, server: ctx.settings.server, maxConnections: icap.connections };
  const icapCtx: IcapContext = {
    ...ctx,
    settings: { ...ctx.settings, listen: icap.listen, connections: icap.connections, proxied: icap.proxied },
    icap: { service, headLimit: icap.headLimit, idleConnect: icap.idleConnect },
  };
  return new Listener(icapCtx, {
    serve: (socket) => new IcapConnection(socket, icapCtx),
    // 503 is ICAP's "Service Overloaded": the client may try another connection later.
    refuse: (socket: Socket) => {
      socket.on('error', () => socket.destroy());
      socket.end(icapError(service, 503, true));
    },
  });
}
