import type { RequestListener } from 'node:http';
import { HTTPModuleFunctions, type HTTPReceiver, type ReceiverProcessEventErrorHandlerArgs } from '@slack/bolt';
import type { Logger } from '../log';

type Payload = Record<string, unknown>;
type BufferedRequest = Parameters<typeof HTTPModuleFunctions.parseHTTPRequestBody>[0];

const isObject = (value: unknown): value is Payload =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const hasId = (value: unknown) => isObject(value) && typeof value.id === 'string';

/**
 * What a signed body lacks that Slack always sends, and Bolt reads before any listener runs (the user, the
 * team, a block action's actions, a submission's view); undefined when nothing is missing.
 */
function payloadProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the body is not a Slack payload';
  if (typeof body.command === 'string') {
    const known = typeof body.user_id === 'string' && typeof body.team_id === 'string';
    return known ? undefined : 'the command has no user_id or team_id';
  }
  if (body.type === 'event_callback' || body.type === 'url_verification') return undefined;
  if (!hasId(body.user)) return 'the interaction has no user';
  if (!hasId(body.team) && typeof (body.user as Payload).team_id !== 'string') return 'the interaction has no team';
  if (body.type === 'block_actions' && !(Array.isArray(body.actions) && body.actions.every(isObject))) {
    return 'the block action has no actions';
  }
  if ((body.type === 'view_submission' || body.type === 'view_closed') && !hasId(body.view)) {
    return 'the view submission has no view';
  }
  return undefined;
}

/**
 * Bolt's processEventErrorHandler for the HTTP receiver: a signed body Bolt could not route because a field
 * Slack always sends is missing gets 400 with what is missing (one warning, no stack trace); anything else
 * is Bolt's default answer.
 */
export function malformedPayloadHandler(logger: Logger) {
  return async (args: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> => {
    const { request, response } = args;
    let body: unknown;
    try {
      body = HTTPModuleFunctions.parseHTTPRequestBody(request as BufferedRequest);
    } catch {
      body = undefined;
    }
    const problem = response.headersSent ? undefined : payloadProblem(body);
    if (!problem) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
    logger.warn({ problem }, 'Slack request refused: malformed payload');
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: false, error: `malformed payload: ${problem}` }));
    return true;
  };
}

/**
 * Bolt reads `body.ssl_check` from whatever a form's `payload` parses to, in a promise nobody awaits: a payload
 * of `null`, a list or a string would end the process. Such a body gets 400 here; everything else reaches
 * Bolt, which finds the body already read (it keeps it on the request) and verifies the signature as usual.
 */
export function guardPayloadShape(receiver: HTTPReceiver, logger: Logger): void {
  const bolt: RequestListener = receiver.requestListener;
  receiver.requestListener = (request, response) => {
    if (
      request.method !== 'POST' ||
      !request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
    ) {
      bolt(request, response);
      return;
    }
    HTTPModuleFunctions.bufferIncomingMessage(request, HTTPModuleFunctions.defaultBodyLimit).then(
      (buffered) => {
        const payload = new URLSearchParams(buffered.rawBody.toString()).get('payload');
        const parsed = payload === null ? undefined : parseOrUndefined(payload);
        // Unreadable JSON is Bolt's to refuse (400); JSON that is no object is what Bolt would crash on.
        if (parsed !== undefined && !isObject(parsed)) {
          logger.warn({ problem: 'the body is not a Slack payload' }, 'Slack request refused: malformed payload');
          response.writeHead(400, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ ok: false, error: 'malformed payload: the body is not a Slack payload' }));
          return;
        }
        bolt(buffered, response);
      },
      // Too large or unreadable: Bolt reads it again and answers as it does for any such body.
      () => bolt(request, response),
    );
  };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
