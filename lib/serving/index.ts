/**
 * `eddy.serving`: running trained models for many users at once —
 * streaming sessions with carried state.
 */
export { Session, session, SESSION_STATE_FORMAT, SESSION_STATE_VERSION } from './session';
export type { SessionModel, SessionState, StepInput } from './session';
