/**
 * `eddy.serving`: running trained models for many users at once —
 * streaming sessions with carried state, many streams stepped as one
 * batch, and concurrent requests coalesced into padded batches.
 */
export { Session, session, SESSION_STATE_FORMAT, SESSION_STATE_VERSION } from './session';
export type { SessionModel, SessionState, StepInput } from './session';
export { BatchedStream, StreamBatcher } from './stream-batcher';
export type { StepManyOptions, StreamBatcherOptions } from './stream-batcher';
export { Batcher } from './batcher';
export { Coalescer } from './coalescer';
export type { Abortable, CoalescerOptions } from './coalescer';
export { RowModel } from './row-model';
export type { BatcherOptions, BatchedPredictOptions } from './batcher';
export { createHttpService, HttpError, ServiceMetrics } from './http';
export type { HttpService, HttpServiceOptions, Route, RouteContext } from './http';
