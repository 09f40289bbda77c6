/**
 * What time it is. Every service takes one (`now`), so tests can cross a midnight or age a job without waiting;
 * the composition root passes the same one to all of them.
 */
export type Clock = () => Date;

/** The wall clock: the default of a service built without one. */
export const systemClock: Clock = () => new Date();
