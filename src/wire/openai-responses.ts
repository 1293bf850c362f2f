/** OpenAI Responses on the wire: named events, usage only in the last (`response.completed`). */
import { openAIResponsesUsage } from '../normalise.js';
import { arrayOf, errorFailure, messageText, NamedEventMeter, object, whole, type WireFormat } from './read.js';

const RESPONSES_EVENTS = new Set([
  '',
  'response.created',
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);
const wantsResponses = (event: string) => RESPONSES_EVENTS.has(event);

/** OpenAI Responses streams: usage only in the final response.completed (or .incomplete/.failed). */
const RESPONSES_DELTAS = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.function_call_arguments.delta']);

class ResponsesStreamMeter extends NamedEventMeter {
  readonly wants = wantsResponses;

  constructor() {
    super(RESPONSES_DELTAS, 'response.completed');
  }

  data(payload: unknown): void {
    const event = object(payload);
    if (!event) return;
    const type = event['type'];
    switch (type) {
      case 'response.created':
        this.got.setModel(object(event['response'])?.['model']);
        break;
      case 'response.output_text.delta':
      case 'response.refusal.delta':
      case 'response.function_call_arguments.delta':
        this.got.add(0, event['delta']);
        break;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const response = object(event['response']);
        this.got.setModel(response?.['model']);
        this.got.usage = openAIResponsesUsage(response?.['usage'], response);
        this.ended = true;
        const error = object(response?.['error']);
        if (type === 'response.failed') this.got.failure = errorFailure(error ? { error } : {}, 'stream-error');
        break;
      }
      case 'error':
        this.got.failure = errorFailure(event, 'stream-error');
        break;
    }
  }
}

export const openAIResponsesWire: WireFormat = {
  meter: () => new ResponsesStreamMeter(),
  readBody(json, got) {
    got.usage = openAIResponsesUsage(json['usage'], json);
    for (const item of arrayOf(json['output'])) {
      for (const part of arrayOf(object(item)?.['content'])) got.add(0, object(part)?.['text']);
      got.add(0, object(item)?.['arguments']);
    }
  },
  sentText(json) {
    const items = typeof json['input'] === 'string' ? [{ role: 'user', content: json['input'] }] : arrayOf(json['input']);
    return {
      messages: [
        ...(typeof json['instructions'] === 'string' ? [{ role: 'system', content: json['instructions'] }] : []),
        ...items.map((m) => messageText(m, object(m)?.['content'] ?? object(m)?.['output'])),
      ],
    };
  },
  maxOutput: (json) => whole(json['max_output_tokens']),
};
