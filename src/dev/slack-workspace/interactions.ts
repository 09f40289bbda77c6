import { randomBytes } from 'node:crypto';
import { blockProblems, viewProblems } from './blocks';
import { signSlackRequest } from './signing';
import { NO_ACK_STATUS, type EnvelopeType, type SocketMode } from './socket-mode';
import { APP_ID, BOT_USER_ID, SLACKBOT_ID, type StoredMessage, type StoredView, type WorkspaceState } from './state';
import { assignIds, type WebApi } from './web-api';

/**
 * Slack's side of the conversation with the app: slash commands, block_actions, view_submission and
 * app_home_opened, shaped and signed as Slack sends them; what Slack does with the app's acks; and the
 * response_url endpoint the app answers through.
 */

export interface BotReply {
  status: number;
  body: string;
}

type Json = Record<string, unknown>;
type Block = {
  type?: string;
  block_id?: string;
  element?: Json;
  elements?: Json[];
  accessory?: Json;
  optional?: boolean;
  label?: { text?: string };
};

/** The verification token Slack still puts in payloads (deprecated; apps must check the signature instead). */
const VERIFICATION_TOKEN = 'offline-verification-token';
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

/** Inputs whose dispatch_action waits for Enter, or for every character with dispatch_action_config. */
const TEXT_INPUTS = new Set(['plain_text_input', 'email_text_input', 'url_text_input', 'number_input']);

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

export interface InteractionOptions {
  signingSecret: string;
  baseUrl: () => string;
  botUrl: () => string | undefined;
  /** Slack waits 3 s for an ack; a later ack is ignored and the person sees a timeout. */
  ackTimeoutMs: number;
  /** The app is in Socket Mode: everything goes over its WebSocket, none to botUrl. */
  socketMode?: SocketMode;
}

export class Interactions {
  constructor(
    private readonly state: WorkspaceState,
    private readonly api: WebApi,
    private readonly options: InteractionOptions,
  ) {}

  // ---- what Slack sends -----------------------------------------------------------------

  async slashCommand(input: { userId: string; channelId: string; text: string; command?: string }): Promise<BotReply> {
    const user = this.person(input.userId);
    const channel = this.api.channel(input.channelId);
    const command = input.command ?? '/kling';
    const fields: Record<string, string> = {
      token: VERIFICATION_TOKEN,
      team_id: this.state.teamId,
      team_domain: 'kling-demo',
      channel_id: channel.id,
      channel_name: channel.kind === 'im' ? 'directmessage' : channel.name,
      user_id: user.id,
      user_name: user.name.toLowerCase(),
      command,
      text: input.text,
      api_app_id: APP_ID,
      is_enterprise_install: 'false',
      response_url: this.responseUrl({ channel: channel.id, userId: user.id }),
      trigger_id: this.trigger(user.id),
    };
    const started = Date.now();
    let reply: BotReply;
    try {
      reply = await this.send('slash_commands', fields);
    } catch (error) {
      this.slackbotSays(channel.id, user.id, `${command} failed with the error "dispatch_failed"`);
      throw error;
    }
    if (reply.status === NO_ACK_STATUS || Date.now() - started > this.options.ackTimeoutMs) {
      this.slackbotSays(channel.id, user.id, `${command} failed with the error "operation_timeout"`);
    } else if (reply.status !== 200) {
      this.slackbotSays(channel.id, user.id, `${command} failed with the error "dispatch_failed"`);
    } else if (reply.body.trim() !== '') {
      this.applyCommandAck(channel.id, user.id, `${command} ${input.text}`.trim(), reply.body);
    }
    return reply;
  }

  /**
   * A click (or a choice in a select, overflow, radio or checkbox group) on a message's element.
   * `value` overrides a button's value; for the other elements it is the chosen option's value (an array for checkboxes).
   */
  async clickButton(input: {
    userId: string;
    channelId: string;
    messageTs: string;
    actionId: string;
    value?: string | string[];
  }): Promise<BotReply> {
    const user = this.person(input.userId);
    const channel = this.api.channel(input.channelId);
    const message = this.state.findMessage(channel.id, input.messageTs);
    if (!message || (message.ephemeralTo && message.ephemeralTo !== user.id)) {
      throw new Error(`No message ${input.messageTs} visible to ${user.id} in ${channel.id}`);
    }
    const action = this.action((message.blocks ?? []) as Block[], input.actionId, input.value, `message ${message.ts}`);
    const payload: Json = {
      type: 'block_actions',
      ...this.envelope(user.id),
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: channel.id,
        is_ephemeral: Boolean(message.ephemeralTo),
        ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      },
      channel: { id: channel.id, name: channel.kind === 'im' ? 'directmessage' : channel.name },
      state: { values: {} },
      response_url: this.responseUrl({
        channel: channel.id,
        userId: user.id,
        messageTs: message.ts,
        ephemeral: Boolean(message.ephemeralTo),
      }),
      actions: [action],
    };
    // Slack leaves the message out of the payload when it is ephemeral.
    if (!message.ephemeralTo) payload.message = this.api.wireMessage(message);
    return this.sendPayload(payload);
  }

  /** A person posts a file in a channel (the page's attach button, or a test). */
  postFile(input: { userId: string; channelId: string; filename: string; data: Buffer; text?: string }): StoredMessage {
    return this.api.postFileAs(this.person(input.userId).id, input.channelId, input.filename, input.data, input.text);
  }

  /** A message shortcut ("Animate with Kling") chosen on a message: Slack sends the whole message. */
  async messageShortcut(input: {
    userId: string;
    channelId: string;
    messageTs: string;
    callbackId: string;
  }): Promise<BotReply> {
    const user = this.person(input.userId);
    const channel = this.api.channel(input.channelId);
    const message = this.state.findMessage(channel.id, input.messageTs);
    // Slack offers no shortcuts on an ephemeral message.
    if (!message || message.ephemeralTo) throw new Error(`No message ${input.messageTs} in ${channel.id}`);
    return this.sendPayload({
      type: 'message_action',
      callback_id: input.callbackId,
      ...this.envelope(user.id),
      action_ts: this.actionTs(),
      message_ts: message.ts,
      channel: { id: channel.id, name: channel.kind === 'im' ? 'directmessage' : channel.name },
      message: this.api.wireMessage(message),
      response_url: this.responseUrl({ channel: channel.id, userId: user.id, messageTs: message.ts, ephemeral: false }),
    });
  }

  /** The same, on an element in a modal or the App Home. */
  async clickViewButton(input: {
    userId: string;
    viewId: string;
    actionId: string;
    value?: string | string[];
    values?: Record<string, Record<string, unknown>>;
  }): Promise<BotReply> {
    const user = this.person(input.userId);
    const view = this.ownView(user.id, input.viewId);
    if (input.values) this.setValues(view, input.values);
    const action = this.action(
      (view.view.blocks as Block[] | undefined) ?? [],
      input.actionId,
      input.value,
      `view ${view.id}`,
    );
    return this.sendViewAction(user.id, view, action);
  }

  /** block_actions from a view, as Slack sends it: the view with its state and hash, and the one action. */
  private sendViewAction(userId: string, view: StoredView, action: unknown): Promise<BotReply> {
    return this.sendPayload({
      type: 'block_actions',
      ...this.envelope(userId),
      container: { type: 'view', view_id: view.id },
      view: view.view,
      actions: [action],
    });
  }

  /**
   * The person changes one input of a view: types into a text input (`enter` when they end with Enter), picks an
   * option or ticks a box. As in Slack, the value stays in the view's state, and the app hears of the change
   * (block_actions with the view, its state and hash) only when the input block has `dispatch_action`: a select
   * or a choice at once, a text input on Enter unless its `dispatch_action_config` asks for every character.
   * Resolves with the app's reply, or undefined when nothing was sent.
   */
  async changeViewInput(input: {
    userId: string;
    viewId: string;
    blockId: string;
    value: string | string[];
    enter?: boolean;
  }): Promise<BotReply | undefined> {
    const user = this.person(input.userId);
    const view = this.ownView(user.id, input.viewId);
    if (view.type === 'modal' && !view.open) throw new Error(`View ${view.id} is not open`);
    const blocks = (view.view.blocks as Block[] | undefined) ?? [];
    const block = blocks.find((b) => b.type === 'input' && b.block_id === input.blockId);
    if (!block?.element) throw new Error(`No input block ${input.blockId} in view ${view.id}`);
    const actionId = String(block.element.action_id ?? '');
    view.view.state ??= { values: {} };
    const state = view.view.state as { values: Record<string, Record<string, unknown>> };
    state.values[input.blockId] = { [actionId]: this.valueObject(block.element, input.value) };
    this.state.changed();
    if (!(block as { dispatch_action?: boolean }).dispatch_action) return undefined;
    if (TEXT_INPUTS.has(String(block.element.type))) {
      const config = block.element.dispatch_action_config as { trigger_actions_on?: string[] } | undefined;
      const on = config?.trigger_actions_on ?? ['on_enter_pressed'];
      if (!(on.includes('on_character_entered') || (input.enter && on.includes('on_enter_pressed')))) return undefined;
    }
    const action = this.action(blocks, actionId, input.value, `view ${view.id}`);
    return this.sendViewAction(user.id, view, action);
  }

  /**
   * Submits a modal. `values` is state.values (block_id → action_id → value object); a bare string (or
   * array for checkboxes) is turned into the element's value object. Like Slack's client, it refuses to
   * send when a required input is empty.
   */
  async submitView(input: {
    userId: string;
    viewId: string;
    values: Record<string, Record<string, unknown>>;
  }): Promise<BotReply> {
    const user = this.person(input.userId);
    const view = this.ownView(user.id, input.viewId);
    if (view.type !== 'modal' || !view.open) throw new Error(`View ${view.id} is not an open modal`);
    this.setValues(view, input.values);
    const missing = this.missingInputs(view);
    if (missing.length)
      throw new Error(`Slack would not submit view ${view.id}: required input ${missing.join(', ')} is empty`);
    view.errors = undefined;
    const started = Date.now();
    const reply = await this.sendPayload({
      type: 'view_submission',
      ...this.envelope(user.id),
      view: view.view,
      response_urls: [],
    });
    if (reply.status !== 200 || Date.now() - started > this.options.ackTimeoutMs) {
      view.errors = { _: 'We had some trouble connecting. Try again?' };
      this.state.changed();
    } else {
      this.applyViewAck(view, reply.body);
    }
    return reply;
  }

  /** The person closes a modal (× or Cancel); the app hears view_closed only when it asked to. */
  async closeView(input: { userId: string; viewId: string }): Promise<BotReply | undefined> {
    const user = this.person(input.userId);
    const view = this.ownView(user.id, input.viewId);
    const stack = this.state.stacks.get(user.id) ?? [];
    const closed = stack.slice(stack.indexOf(view.id));
    this.closeViews(user.id, closed.length === stack.length ? stack : closed);
    if (!view.view.notify_on_close) return undefined;
    return this.sendPayload({ type: 'view_closed', ...this.envelope(user.id), view: view.view, is_cleared: false });
  }

  async openHome(userId: string): Promise<{ status: number }> {
    const user = this.person(userId);
    const home = [...this.state.views.values()].find((v) => v.type === 'home' && v.userId === user.id);
    const now = Date.now();
    const event: Json = {
      type: 'app_home_opened',
      user: user.id,
      channel: this.state.openDm([user.id]).id,
      tab: 'home',
      event_ts: (now / 1000).toFixed(6),
    };
    if (home) event.view = home.view;
    const reply = await this.send('events_api', {
      token: VERIFICATION_TOKEN,
      team_id: this.state.teamId,
      api_app_id: APP_ID,
      event,
      type: 'event_callback',
      event_id: `Ev${randomHex(5).toUpperCase()}`,
      event_time: Math.floor(now / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.state.teamId,
          user_id: BOT_USER_ID,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
    });
    return { status: reply.status };
  }

  // ---- response_url ----------------------------------------------------------------------

  /** POST /response/<token>: what `respond()` does. 404 when the url is unknown, used 5 times or older than 30 minutes. */
  handleResponseUrl(token: string, args: Json): { status: number; body: Json } {
    const target = this.state.responseTargets.get(token);
    const record = (ok: boolean, error?: string) =>
      this.api.calls.push({ method: 'response_url', args, ok, ...(error ? { error } : {}) });
    const fault = this.api.takeFault('response_url');
    if (fault) {
      record(false, fault.error ?? `http_${fault.httpStatus ?? 500}`);
      return { status: fault.httpStatus ?? 500, body: { ok: false, error: fault.error ?? 'fatal_error' } };
    }
    if (!target || Date.now() - target.issuedAt > RESPONSE_URL_TTL_MS) {
      record(false, 'expired_url');
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    }
    if (target.uses >= RESPONSE_URL_USES) {
      record(false, 'used_url');
      return { status: 404, body: { ok: false, error: 'used_url' } };
    }
    if (typeof args.payload === 'string') args = JSON.parse(args.payload) as Json;
    if (typeof args.blocks === 'string') args.blocks = JSON.parse(args.blocks);
    const problems = args.blocks === undefined ? [] : blockProblems(args.blocks, 'message');
    if (problems.length) {
      record(false, 'invalid_blocks');
      return { status: 400, body: { ok: false, error: 'invalid_blocks', response_metadata: { messages: problems } } };
    }
    target.uses += 1;
    record(true);
    this.deliverResponse(target.channel, target.userId, args, target.messageTs);
    return { status: 200, body: { ok: true } };
  }

  // ---- internals ------------------------------------------------------------------------

  private person(userId: string) {
    const user = this.state.users.get(userId);
    if (!user || user.isBot) throw new Error(`Unknown person ${userId} in the offline workspace`);
    return user;
  }

  private ownView(userId: string, viewId: string): StoredView {
    const view = this.state.views.get(viewId);
    if (!view || view.userId !== userId) throw new Error(`No view ${viewId} for ${userId}`);
    return view;
  }

  private lastActionMicros = 0;

  /** When the person acted, in seconds to the microsecond; two actions never share one, as in Slack. */
  private actionTs(): string {
    this.lastActionMicros = Math.max(this.lastActionMicros + 1, Date.now() * 1000);
    return (this.lastActionMicros / 1e6).toFixed(6);
  }

  private trigger(userId: string): string {
    const id = `${Date.now()}.${randomHex(6)}`;
    this.state.triggers.set(id, { userId, issuedAt: Date.now(), used: false });
    return id;
  }

  private responseUrl(target: { channel: string; userId: string; messageTs?: string; ephemeral?: boolean }): string {
    const token = randomHex(16);
    this.state.responseTargets.set(token, { ...target, issuedAt: Date.now(), uses: 0 });
    return `${this.options.baseUrl()}/response/${token}`;
  }

  private envelope(userId: string): Json {
    const user = this.state.users.get(userId)!;
    return {
      user: {
        id: user.id,
        username: user.name.toLowerCase(),
        name: user.name.toLowerCase(),
        team_id: this.state.teamId,
      },
      api_app_id: APP_ID,
      token: VERIFICATION_TOKEN,
      trigger_id: this.trigger(userId),
      team: { id: this.state.teamId, domain: 'kling-demo' },
      enterprise: null,
      is_enterprise_install: false,
    };
  }

  /** Over the app's socket in Socket Mode; otherwise POSTed to the request URL as Slack encodes each type. */
  private async send(type: EnvelopeType, payload: Json): Promise<BotReply> {
    if (this.options.socketMode) return this.options.socketMode.deliver(type, payload, this.options.ackTimeoutMs);
    const form = 'application/x-www-form-urlencoded';
    const [body, contentType] =
      type === 'events_api'
        ? [JSON.stringify(payload), 'application/json']
        : type === 'slash_commands'
          ? [new URLSearchParams(payload as Record<string, string>).toString(), form]
          : [new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), form];
    const url = this.options.botUrl();
    if (!url) throw new Error('The offline workspace has no botUrl to send to');
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...signSlackRequest(this.options.signingSecret, body) },
        body,
      });
    } catch (error) {
      throw new Error(`The bot at ${url} is not reachable: ${(error as Error).cause ?? (error as Error).message}`);
    }
    return { status: response.status, body: await response.text() };
  }

  private sendPayload(payload: Json): Promise<BotReply> {
    return this.send('interactive', payload);
  }

  private slackbotSays(channel: string, userId: string, text: string): void {
    this.state.addMessage({
      channel,
      ts: this.state.nextTs(),
      user: SLACKBOT_ID,
      text,
      ephemeralTo: userId,
      via: 'ack',
    });
  }

  /** A command's ack body is a message: ephemeral by default, in the channel with response_type in_channel. */
  private applyCommandAck(channel: string, userId: string, invocation: string, body: string): void {
    let args: Json;
    try {
      const parsed = JSON.parse(body) as unknown;
      args = typeof parsed === 'object' && parsed !== null ? (parsed as Json) : { text: String(parsed) };
    } catch {
      args = { text: body };
    }
    const problems = args.blocks === undefined ? [] : blockProblems(args.blocks, 'message');
    this.api.calls.push({
      method: 'ack',
      args,
      ok: problems.length === 0,
      ...(problems.length ? { error: 'invalid_blocks' } : {}),
    });
    if (problems.length)
      return this.slackbotSays(channel, userId, `${invocation.split(' ')[0]} failed with the error "invalid_blocks"`);
    if (args.response_type === 'in_channel') {
      // Slack shows the person's command above an in-channel answer.
      this.state.addMessage({ channel, ts: this.state.nextTs(), user: userId, text: invocation, via: 'person' });
    }
    this.deliverResponse(channel, userId, args, undefined, 'ack');
  }

  /** Posts, replaces or deletes as a response_url (or command ack) asks. */
  private deliverResponse(
    channel: string,
    userId: string,
    args: Json,
    originalTs: string | undefined,
    via: StoredMessage['via'] = 'response_url',
  ): void {
    const original = originalTs ? this.state.findMessage(channel, originalTs) : undefined;
    if (args.delete_original === true || args.delete_original === 'true') {
      if (original) this.state.removeMessage(original);
      return;
    }
    if (original && (args.replace_original === true || args.replace_original === 'true')) {
      original.text = typeof args.text === 'string' ? args.text : '';
      original.blocks = assignIds(args.blocks);
      original.editedTs = this.state.nextTs();
      this.state.changed();
      return;
    }
    // respond() reportedly ignores thread_ts, so a response is never threaded.
    this.api.postAsBot(
      channel,
      { ...args, thread_ts: undefined },
      { via, ...(args.response_type === 'in_channel' ? {} : { ephemeralTo: userId }) },
    );
  }

  private applyViewAck(view: StoredView, body: string): void {
    let ack: Json = {};
    try {
      if (body.trim()) ack = JSON.parse(body) as Json;
    } catch {
      ack = {};
    }
    const stack = this.state.stacks.get(view.userId) ?? [];
    switch (ack.response_action) {
      case 'errors':
        view.errors = (ack.errors as Record<string, string>) ?? {};
        this.state.changed();
        return;
      case 'update':
      case 'push': {
        const problems = viewProblems(ack.view, 'modal');
        if (problems.length) {
          view.errors = { _: `The app answered with an invalid view: ${problems[0]}` };
          this.state.changed();
          return;
        }
        if (ack.response_action === 'update') this.api.saveView(view.userId, ack.view as Json, view);
        else {
          const pushed = this.api.saveView(view.userId, ack.view as Json, undefined, {
            rootViewId: stack[0],
            previousViewId: view.id,
          });
          this.state.stacks.set(view.userId, [...stack, pushed.id]);
        }
        return;
      }
      case 'clear':
        return this.closeViews(view.userId, stack);
      default:
        return this.closeViews(view.userId, stack.slice(stack.indexOf(view.id)));
    }
  }

  private closeViews(userId: string, ids: string[]): void {
    for (const id of ids) {
      const v = this.state.views.get(id);
      if (v) v.open = false;
    }
    this.state.stacks.set(
      userId,
      (this.state.stacks.get(userId) ?? []).filter((id) => !ids.includes(id)),
    );
    this.state.changed();
  }

  /** Finds the interactive element by action_id and builds the action Slack reports for it. */
  private action(blocks: Block[], actionId: string, value: string | string[] | undefined, where: string): Json {
    for (const block of blocks) {
      const elements = [
        ...(block.elements ?? []),
        ...(block.accessory ? [block.accessory] : []),
        ...(block.element ? [block.element] : []),
      ];
      const element = elements.find((e) => e.action_id === actionId);
      if (!element) continue;
      const base: Json = {
        action_id: actionId,
        block_id: block.block_id ?? '',
        type: element.type,
        action_ts: this.actionTs(),
      };
      const options = (element.options as { value: string }[] | undefined) ?? [];
      const pick = (v: string) => {
        const option = options.find((o) => o.value === v);
        if (!option) throw new Error(`No option "${v}" in ${String(element.type)} ${actionId} of ${where}`);
        return option;
      };
      switch (element.type) {
        case 'button':
          return {
            ...base,
            text: element.text,
            value: typeof value === 'string' ? value : element.value,
            ...(element.style ? { style: element.style } : {}),
          };
        case 'static_select':
        case 'overflow':
        case 'radio_buttons':
          return { ...base, selected_option: pick(String(value)) };
        case 'checkboxes':
        case 'multi_static_select':
          return { ...base, selected_options: (Array.isArray(value) ? value : value ? [value] : []).map(pick) };
        default:
          return { ...base, value };
      }
    }
    throw new Error(`No element with action_id ${actionId} in ${where}`);
  }

  /** Writes submitted values into the view's state, in the value objects Slack uses for each element type. */
  private setValues(view: StoredView, values: Record<string, Record<string, unknown>>): void {
    const blocks = (view.view.blocks as Block[] | undefined) ?? [];
    view.view.state ??= { values: {} };
    const state = view.view.state as { values: Record<string, Record<string, unknown>> };
    for (const block of blocks) {
      if (block.type !== 'input' || !block.element || !block.block_id) continue;
      const actionId = String(block.element.action_id ?? '');
      const given = values[block.block_id]?.[actionId];
      state.values[block.block_id] = { [actionId]: this.valueObject(block.element, given) };
    }
    this.state.changed();
  }

  private valueObject(element: Json, given: unknown): Json {
    const type = String(element.type);
    if (typeof given === 'object' && given !== null && !Array.isArray(given)) return { type, ...(given as Json) };
    const options = (element.options as { value: string }[] | undefined) ?? [];
    const option = (v: unknown) => options.find((o) => o.value === v) ?? null;
    switch (type) {
      case 'static_select':
      case 'radio_buttons':
        return { type, selected_option: given === undefined || given === '' ? null : option(given) };
      case 'checkboxes':
      case 'multi_static_select':
        return {
          type,
          selected_options: (Array.isArray(given) ? given : given ? [given] : []).map(option).filter(Boolean),
        };
      case 'datepicker':
        return { type, selected_date: given ?? null };
      case 'timepicker':
        return { type, selected_time: given ?? null };
      case 'users_select':
        return { type, selected_user: given ?? null };
      case 'conversations_select':
        return { type, selected_conversation: given ?? null };
      case 'channels_select':
        return { type, selected_channel: given ?? null };
      default:
        return { type, value: given === undefined || given === '' ? null : String(given) };
    }
  }

  private missingInputs(view: StoredView): string[] {
    const values = (view.view.state as { values: Record<string, Record<string, Json>> }).values;
    return ((view.view.blocks as Block[] | undefined) ?? [])
      .filter((b) => b.type === 'input' && !b.optional && b.block_id)
      .filter((b) => {
        const v = Object.values(values[b.block_id!] ?? {})[0];
        if (!v) return true;
        const filled =
          v.value ??
          v.selected_option ??
          v.selected_date ??
          v.selected_time ??
          v.selected_user ??
          v.selected_conversation ??
          v.selected_channel;
        const many = v.selected_options as unknown[] | undefined;
        return !(filled || many?.length);
      })
      .map((b) => b.block_id!);
  }
}
