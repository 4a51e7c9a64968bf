export * from './abi.generated';
export { native } from './addon';
export type { Native, RewriteOptions, RewritePlan } from './addon';
export { HeadView } from './head-view';
