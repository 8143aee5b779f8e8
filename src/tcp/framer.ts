// IPFIX messages out of a TCP byte stream (RFC 7011 section 10.4.2): each message starts with
// its header, version 10 at offset 0 and the message length (u16, header included) at offset 2,
// so the length field is the framing. A header that is not version 10, or a length shorter than
// the 16-byte header, means the stream is no longer framed: nothing after it can be trusted, and
// the caller closes the connection.
//
// One framer per connection. A message that lies whole in a chunk is handed out in place (no
// copy); only a message split across chunks is gathered in the framer's own buffer, at most one
// message long (65,535 bytes: the length is a u16), made on the first split. The caller takes
// messages with next() until it says FRAME_NEED_MORE, and may stop between two (backpressure):
// the message last handed out stays valid until the next call to next().

/** next() handed out a message: framer.message[framer.start, framer.end). */
export const FRAME_MESSAGE = 0;
/** The chunks fed so far are used up (a partial message is kept): feed the next one. */
export const FRAME_NEED_MORE = 1;
/** The stream is not IPFIX (framer.error says why): close the connection. */
export const FRAME_ERROR = 2;
export type FrameResult = typeof FRAME_MESSAGE | typeof FRAME_NEED_MORE | typeof FRAME_ERROR;

export const IPFIX_VERSION = 10;
export const IPFIX_HEADER_BYTES = 16;
/** The largest message the length field can describe. */
export const MAX_MESSAGE_BYTES = 0xffff;
/** Version and length: what framing needs to read. */
const FRAMING_BYTES = 4;

const EMPTY = Buffer.alloc(0);

export type FramingError = 'bad_version' | 'bad_length';

export class IpfixFramer {
  /** The message last handed out by next(): bytes [start, end) of `message`. */
  message: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** Why next() said FRAME_ERROR. */
  error: FramingError | null = null;
  #chunk: Buffer = EMPTY;
  #offset = 0;
  /** A message split across chunks: its first #held bytes. */
  #split: Buffer | null = null;
  #held = 0;

  /** Gives the framer the next chunk of the stream. Only once next() said FRAME_NEED_MORE. */
  feed(chunk: Buffer): void {
    this.#chunk = chunk;
    this.#offset = 0;
  }

  /** Bytes of a partial message kept from earlier chunks. */
  get held(): number {
    return this.#held;
  }

  next(): FrameResult {
    if (this.error) return FRAME_ERROR;
    const chunk = this.#chunk;
    const available = chunk.length - this.#offset;
    if (this.#held > 0) return this.#continueSplit(chunk, available);
    if (available === 0) return this.#usedUp();
    if (available < FRAMING_BYTES) return this.#startSplit(chunk, available);
    const length = this.#check(chunk, this.#offset);
    if (length < 0) return FRAME_ERROR;
    if (available < length) return this.#startSplit(chunk, available);
    this.message = chunk;
    this.start = this.#offset;
    this.end = this.#offset + length;
    this.#offset += length;
    return FRAME_MESSAGE;
  }

  /** The message length at `at`, or -1 (error set) when the header cannot start an IPFIX message. */
  #check(bytes: Buffer, at: number): number {
    if (bytes.readUInt16BE(at) !== IPFIX_VERSION) {
      this.error = 'bad_version';
      return -1;
    }
    const length = bytes.readUInt16BE(at + 2);
    if (length < IPFIX_HEADER_BYTES) {
      this.error = 'bad_length';
      return -1;
    }
    return length;
  }

  #usedUp(): FrameResult {
    this.#chunk = EMPTY;
    this.#offset = 0;
    return FRAME_NEED_MORE;
  }

  #startSplit(chunk: Buffer, available: number): FrameResult {
    const split = (this.#split ??= Buffer.allocUnsafe(MAX_MESSAGE_BYTES));
    chunk.copy(split, 0, this.#offset, chunk.length);
    this.#held = available;
    return this.#usedUp();
  }

  #continueSplit(chunk: Buffer, available: number): FrameResult {
    const split = this.#split!;
    let at = this.#offset;
    if (this.#held < FRAMING_BYTES) {
      const take = Math.min(FRAMING_BYTES - this.#held, available);
      chunk.copy(split, this.#held, at, at + take);
      this.#held += take;
      at += take;
      if (this.#held < FRAMING_BYTES) return this.#usedUp();
    }
    const length = this.#check(split, 0);
    if (length < 0) return FRAME_ERROR;
    const take = Math.min(length - this.#held, chunk.length - at);
    chunk.copy(split, this.#held, at, at + take);
    this.#held += take;
    this.#offset = at + take;
    if (this.#held < length) return this.#usedUp();
    this.#held = 0;
    this.message = split;
    this.start = 0;
    this.end = length;
    return FRAME_MESSAGE;
  }
}
