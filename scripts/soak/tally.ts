/** What the soak's clients counted, read by the sampler each second. */
export interface Tally {
  /** keep-alive load: answers, failures (a wrong status, a closed connection, an error) */
  answers: number;
  failures: number;
  /** latencies (ms) of the answers since the sampler last took them */
  latencies: number[];
  idleOpen: number;
  /** idle connections the proxy closed (it must not: http.keepalive-timeout=0) */
  idleDropped: number;
  slowlorisOpen: number;
  /** slowloris connections closed by the proxy within the header timeout + margin, and later */
  slowlorisClosed: number;
  slowlorisLate: number;
  slowlorisEarly: number;
  tunnelsOk: number;
  uploadsOk: number;
  /** transfers whose sha256 differed, and those that failed outright */
  checksumMismatches: number;
  transferFailures: number;
  helperKills: number;
  /** the first few failure descriptions, for the report */
  notes: string[];
}

export function newTally(): Tally {
  return {
    answers: 0,
    failures: 0,
    latencies: [],
    idleOpen: 0,
    idleDropped: 0,
    slowlorisOpen: 0,
    slowlorisClosed: 0,
    slowlorisLate: 0,
    slowlorisEarly: 0,
    tunnelsOk: 0,
    uploadsOk: 0,
    checksumMismatches: 0,
    transferFailures: 0,
    helperKills: 0,
    notes: [],
  };
}

export function note(t: Tally, what: string): void {
  if (t.notes.length < 20) t.notes.push(what);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
