// A request's frame around its body (Kafka's request header v1, as kafkajs 2.2.4 writes it for
// every request FlowGate sends):
//
//   size => INT32 (bytes after this field)
//   request_api_key => INT16
//   request_api_version => INT16
//   correlation_id => INT32
//   client_id => NULLABLE_STRING (INT16 length, -1 for null, then UTF-8 bytes)
//   body
//
// Why FlowGate frames its own requests: kafkajs's framing (protocol/request.js) writes the header
// into one growing Encoder, copies the body after it, then copies all of that into a second
// Encoder behind the size; each Encoder is a zero-filled Buffer rounded up to a power of two. For
// Produce that is two allocations and two copies of every byte produced, and the large
// short-lived buffers (external memory) set off V8's full garbage collections. Here the body's
// encoder leaves room for the header in the one buffer it allocates (frameRoom), and
// writeRequestHeader fills that room once the connection gives the correlation id.

/** Bytes of the frame before the body: size, api key, version, correlation id, client id. */
export function frameRoom(clientId: string | null): number {
  return 4 + 2 + 2 + 4 + 2 + (clientId === null ? 0 : Buffer.byteLength(clientId));
}

/** Writes the frame's header into `frame`'s first frameRoom(clientId) bytes; the body follows it to the end of `frame`. */
export function writeRequestHeader(frame: Buffer, apiKey: number, apiVersion: number, correlationId: number, clientId: string | null): void {
  let at = frame.writeInt32BE(frame.length - 4, 0);
  at = frame.writeInt16BE(apiKey, at);
  at = frame.writeInt16BE(apiVersion, at);
  at = frame.writeInt32BE(correlationId, at);
  if (clientId === null) {
    frame.writeInt16BE(-1, at);
    return;
  }
  at = frame.writeInt16BE(Buffer.byteLength(clientId), at);
  frame.write(clientId, at, 'utf8');
}
