// What a peer (a proxy compared in the bench) provides. Each peer lives in its own module under
// bench/peers/ and is listed in bench/peers/index.ts; bench/README.md explains how to add one.
import type { ChildProcess } from 'node:child_process';

/** Which helper protocol a measurement asks the peer to use with the allow-all helper. */
export type HelperProtocol = 'url' | 'squid';

export interface PeerContext {
  /** A private temp dir for this start: configs, pid files, sockets. */
  dir: string;
  /** The port to listen on, 127.0.0.1 only. */
  port: number;
  /** The nginx origin's port: the only destination the peer must reach. */
  originPort: number;
  /** The core to pin the peer to, when the machine has several. */
  core: string | undefined;
  /** When set, every request goes through the allow-all helper with this protocol. */
  helper?: HelperProtocol;
  /** The allow-all helper command for this protocol (program and arguments). */
  helperCommand?: string[];
  /** The helper's decisions may be remembered (exaproxy: redirector.cache); off unless a variant asks. */
  helperCache?: boolean;
  /** How many helper processes to run (the same for every peer). */
  helperChildren: number;
}

export interface RunningPeer {
  /** The root of the process tree whose CPU and memory are measured. */
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface PeerSpec {
  /** Short name used on the command line (--peers=) and in the tables. */
  name: string;
  /** One line for the listing. */
  description: string;
  /** Commands to install through apt-get when missing: `{ command: package }`. */
  debian?: Record<string, string>;
  /** npm packages installed into bench/.peers/. */
  npm?: string[];
  /** Helper protocols the peer can run the allow-all helper with (the helper scenario uses these). */
  helpers?: HelperProtocol[];
  /** The peer can remember helper decisions: the helper scenario adds a `+url+cache` variant. */
  helperCache?: boolean;
  /** Whether the peer can carry a CONNECT tunnel. */
  connect: boolean;
  /** false for a peer that closes the client connection after each response (it then gets `Connection: close`). */
  keepAlive?: boolean;
  /** When set, the only scenarios this peer runs in (a variant that only matters for one comparison). */
  onlyScenarios?: string[];
  /** Whether the peer is pinned to the peer core (false for multi-worker runs that need every core). */
  pinned: boolean;
  /** The version string recorded with the results. */
  version(): string;
  start(context: PeerContext): Promise<RunningPeer>;
}
