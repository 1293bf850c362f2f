// Types for ./fake-bedrock.mjs: a local fake of the Amazon Bedrock runtime (HTTP/1.1 and h2c on one port, SigV4 checked).

export interface AwsTestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The token counts the fake REPORTS. `input` is every prompt token, cache reads and writes included. */
export interface FakeBedrockUsage {
  input?: number;
  output?: number;
  /** Cache reads (Anthropic cache_read_input_tokens, Converse cacheReadInputTokens). */
  cached?: number;
  /** Cache writes (Anthropic cache_creation_input_tokens, Converse cacheWriteInputTokens). */
  cacheWrite?: number;
}

/** How the fake answers one request to one of the four operations. Every field is optional. */
export interface FakeBedrockReply {
  /** Whole reply text. Default: the atoms joke. */
  text?: string;
  /** Streams: the text pieces, one content event each (default: `text` in word-sized pieces). */
  chunks?: string[];
  /** Default { input: 11, output: 16 }; null: report none anywhere. On the wire, Anthropic input_tokens / Converse inputTokens = input - cached - cacheWrite. */
  usage?: FakeBedrockUsage | null;
  /** InvokeModel: leave `usage` out of the body (the x-amzn-bedrock-*-token-count headers still come). */
  bodyUsage?: boolean;
  /** InvokeModel: false leaves out the x-amzn-bedrock-*-token-count headers. */
  countHeaders?: boolean;
  /** Invoke stream: false leaves `amazon-bedrock-invocationMetrics` off the last chunk. */
  invocationMetrics?: boolean;
  /** Invoke stream: message_delta carries every cumulative count ("full", default) or only output_tokens. */
  anthropicDeltaUsage?: 'full' | 'output';
  /** Model in Anthropic bodies; default: the model id of the path. */
  model?: string;
  stopReason?: string;
  /** Answer with this HTTP status in AWS's error format (x-amzn-errortype + {"message"}). */
  status?: number;
  /** e.g. ThrottlingException (default by status: 400 ValidationException, 429 ThrottlingException, ...). Streams: the exception frame's type. */
  errorType?: string;
  errorMessage?: string;
  /** Streams: destroy the connection after this many text pieces. */
  cutAfter?: number;
  /** Streams: after this many pieces (true: 2) send an exception frame (default ModelStreamErrorException) and end. */
  streamError?: boolean | number;
  /** Streams: write each frame in two writes, a millisecond apart (default true). */
  splitFrames?: boolean;
  delayMs?: number;
  headers?: Record<string, string>;
}

export type BedrockOperation = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

export interface RecordedBedrockRequest {
  method: string;
  /** Path as sent (the model id still URL-encoded), without the query. */
  path: string;
  url: string;
  /** "1.1" or "2.0". */
  httpVersion: string;
  operation: BedrockOperation | null;
  /** The model id from the path, decoded (an ARN keeps its ':' and '/'). */
  modelId: string | null;
  /** Lower-cased names; HTTP/2 requests carry :authority, :path, ... */
  headers: Record<string, string | string[] | undefined>;
  body: any;
  raw: string;
  /** 'valid', or the AWS error type it was refused with (InvalidSignatureException, UnrecognizedClientException, MissingAuthenticationTokenException, IncompleteSignatureException). */
  signature: string;
}

export interface FakeBedrock {
  /** "http://127.0.0.1:PORT": an endpoint for BedrockRuntimeClient and a baseURL for AnthropicBedrock. */
  readonly url: string;
  readonly port: number;
  /** "127.0.0.1:PORT": the only Host a request may be signed for. */
  readonly host: string;
  readonly region: string;
  readonly credentials: AwsTestCredentials;
  /** Every request received, refused ones included, in order. */
  readonly requests: RecordedBedrockRequest[];
  queue(...replies: FakeBedrockReply[]): void;
  setDefault(reply: FakeBedrockReply): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeBedrockOptions {
  port?: number;
  /** The region requests must be signed for; default us-east-1. */
  region?: string;
  /** The credentials it accepts; default TEST_CREDENTIALS. */
  credentials?: AwsTestCredentials;
  defaultReply?: FakeBedrockReply;
}

export const DEFAULT_TEXT: string;
export const DEFAULT_USAGE: Readonly<{ input: number; output: number }>;
/** Not frozen (the AWS SDK marks the object it is given): pass a copy. */
export const TEST_CREDENTIALS: Required<AwsTestCredentials>;
export const TEST_REGION: string;

export function startFakeBedrock(options?: FakeBedrockOptions): Promise<FakeBedrock>;
