/** Anthropic Messages on the wire: named events, usage in message_start then cumulative in message_delta. */
import { anthropicCumulativeUsage, anthropicUsage } from '../normalise.js';
import { arrayOf, contentText, errorFailure, messageText, NamedEventMeter, object, whole, type Json, type WireFormat } from './read.js';

const ANTHROPIC_EVENTS = new Set(['', 'message_start', 'content_block_delta', 'message_delta', 'message_stop', 'error']);
const ANTHROPIC_DELTAS = new Set(['content_block_delta']);
const wantsAnthropic = (event: string) => ANTHROPIC_EVENTS.has(event);

class AnthropicStreamMeter extends NamedEventMeter {
  readonly wants = wantsAnthropic;
  private wire: Json | null = null;

  constructor() {
    super(ANTHROPIC_DELTAS, 'message_stop');
  }

  override raw(event: string, data: Buffer, parsed?: unknown): void {
    // message_stop says nothing but that it came: its name is enough, its data is not parsed.
    if (event === 'message_stop' && parsed === undefined) this.ended = true;
    else super.raw(event, data, parsed);
  }

  data(payload: unknown): void {
    const event = object(payload);
    if (!event) return;
    switch (event['type']) {
      case 'message_start': {
        const message = object(event['message']);
        this.got.setModel(message?.['model']);
        this.wire = anthropicCumulativeUsage(null, message?.['usage']);
        // Only the input side is final here; kept in case the stream breaks before message_delta.
        this.got.partialUsage = anthropicUsage(this.wire) ?? undefined;
        break;
      }
      case 'content_block_delta': {
        const delta = object(event['delta']);
        this.got.add(0, delta?.['text']);
        this.got.add(0, delta?.['thinking']);
        this.got.add(0, delta?.['partial_json']);
        break;
      }
      case 'message_delta':
        // Cumulative: replace, never add.
        this.wire = anthropicCumulativeUsage(this.wire, event['usage']);
        this.got.usage = anthropicUsage(this.wire);
        break;
      case 'message_stop':
        this.ended = true;
        break;
      case 'error':
        this.got.failure = errorFailure(event, 'stream-error');
        break;
    }
  }
}

export const anthropicMessagesWire: WireFormat = {
  meter: () => new AnthropicStreamMeter(),
  readBody(json, got) {
    got.usage = anthropicUsage(json['usage']);
    for (const block of arrayOf(json['content'])) {
      const b = object(block);
      got.add(0, b?.['text']);
      got.add(0, b?.['thinking']);
      if (b?.['type'] === 'tool_use' && b['input'] !== undefined) got.add(0, JSON.stringify(b['input']));
    }
  },
  sentText: (json) => ({
    messages: [...(json['system'] !== undefined ? [{ role: 'system', content: contentText(json['system']) }] : []), ...arrayOf(json['messages']).map((m) => messageText(m))],
  }),
  maxOutput: (json) => whole(json['max_tokens']),
};
