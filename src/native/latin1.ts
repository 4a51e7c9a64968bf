/**
 * `Buffer#latin1Slice` is the fast internal decoder behind `buf.toString('latin1', s, e)`
 * without its argument checks. It is stable in every Node release we support, but untyped.
 */
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(text: string, offset: number, length?: number): number;
  }
}
export {};
