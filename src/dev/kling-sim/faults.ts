/**
 * http5xx: a gateway's HTML error page · code: Kling's envelope with that code and its HTTP status ·
 * slow: answers after delayMs · hang: never answers, does nothing · drop: does the work, then cuts the connection ·
 * malformed: does the work, answers half a JSON · policy: 1301 at create ·
 * fail-task: the task is made and ends failed with a risk-control reason ·
 * accept-then-timeout: the task is made and the create is never answered.
 * The last three only hit creates.
 */
export type FaultKind =
  | 'http5xx'
  | 'code'
  | 'slow'
  | 'hang'
  | 'drop'
  | 'malformed'
  | 'policy'
  | 'fail-task'
  | 'accept-then-timeout';

export interface FaultSpec {
  /** A KlingEndpoint ('text2video'), 'account/costs', or a path prefix ('/v1/videos'); every endpoint when absent. */
  endpoint?: string;
  method?: 'POST' | 'GET';
  kind: FaultKind;
  /** The service code for kind 'code'; the HTTP status for 'http5xx' (default 502). */
  code?: number;
  /** How many matching requests it hits (default 1; Infinity for all). */
  times?: number;
  /** For 'slow' (default 2000). */
  delayMs?: number;
}

const CREATE_ONLY: ReadonlySet<FaultKind> = new Set(['policy', 'fail-task', 'accept-then-timeout']);

/** The faults tests have armed, each good for a number of matching requests. */
export class Faults {
  private armed: (FaultSpec & { left: number })[] = [];

  add(spec: FaultSpec): void {
    this.armed.push({ ...spec, left: spec.times ?? 1 });
  }

  clear(): void {
    this.armed = [];
  }

  /**
   * The first armed fault that matches this request, spent once. `endpoint` is the request's endpoint name
   * (undefined for an unknown path); `isCreate` says whether it makes a task.
   */
  take(method: string, path: string, endpoint: string | undefined, isCreate: boolean): FaultSpec | undefined {
    const fault = this.armed.find(
      (f) =>
        f.left > 0 &&
        (!f.method || f.method === method) &&
        (!f.endpoint || f.endpoint === endpoint || (f.endpoint.startsWith('/') && path.startsWith(f.endpoint))) &&
        (!CREATE_ONLY.has(f.kind) || isCreate),
    );
    if (fault) fault.left -= 1;
    return fault;
  }
}
