// What the message header says, for the records of the set being decoded. Held data sets
// carry their own copy and put it back here while they are decoded.

export class ctx {
  static version: u32 = 0;
  static domain: u32 = 0;
  static tid: u32 = 0;
  /** Export time of the message in ms since epoch (the record's "time"). */
  static timeMs: u64 = 0;
  static exportSec: u32 = 0;
  /** v9 / v5: the header's wall clock in ms, paired with `uptime` to place switch times. */
  static baseMs: u64 = 0;
  static uptime: u32 = 0;
  /** v5: the sampling interval of the header (0 = none). */
  static headerRate: u32 = 0;
  /** The host's sampling rules for the datagram's exporter (routing.sampling): a rate used when none is announced, and one used whatever is (0 = none). */
  static defaultRate: u32 = 0;
  static overrideRate: u32 = 0;
  static session: u32 = 0;
  static sessionPtr: usize = 0;
  static dvcLen: u32 = 0;
  /** UDP source port of the datagram. */
  static port: u32 = 0;
  /** The host vouches for the datagram's exporter (a tenant's, or on the allow list): its session is never evicted. */
  static protect: bool = false;
  /** The message came over a reliable transport (TCP): withdrawals apply, its session's templates do not expire (RFC 7011 section 8). */
  static reliable: bool = false;
  /** Receive time of the datagram, ms since epoch, from the host. */
  static nowMs: f64 = 0;
}
