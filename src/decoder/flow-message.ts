// FlowGate's record fields and the goflow2 FlowMessage fields they become with kafka.format
// protobuf (assembly/protobuf.ts writes them; assembly/flow.proto is the schema): one table, read
// by the live tap (which shows a FlowMessage under FlowGate's names, so its filters and page work
// alike in both formats), by the Protobuf test, and listed in docs/protobuf.md.

/** How a record field's value becomes the FlowMessage field's. */
export type FlowValue = 'same' | 'ms_to_ns' | 'version_to_type';

/** Record field -> FlowMessage field. Fields not here have no FlowMessage field (see docs/protobuf.md). */
export const flowMessageFields: Readonly<Record<string, { readonly field: string; readonly value: FlowValue }>> = Object.freeze({
  dvc: { field: 'sampler_address', value: 'same' },
  src: { field: 'src_addr', value: 'same' },
  srcp: { field: 'src_port', value: 'same' },
  dst: { field: 'dst_addr', value: 'same' },
  dstp: { field: 'dst_port', value: 'same' },
  proto: { field: 'proto', value: 'same' },
  flags: { field: 'tcp_flags', value: 'same' },
  bytes: { field: 'bytes', value: 'same' },
  pkts: { field: 'packets', value: 'same' },
  start: { field: 'time_flow_start_ns', value: 'ms_to_ns' },
  end: { field: 'time_flow_end_ns', value: 'ms_to_ns' },
  in_if: { field: 'in_if', value: 'same' },
  out_if: { field: 'out_if', value: 'same' },
  tos: { field: 'ip_tos', value: 'same' },
  src_as: { field: 'src_as', value: 'same' },
  dst_as: { field: 'dst_as', value: 'same' },
  next_hop: { field: 'next_hop', value: 'same' },
  vlan: { field: 'src_vlan', value: 'same' },
  icmp_type: { field: 'icmp_type', value: 'same' },
  icmp_code: { field: 'icmp_code', value: 'same' },
  sampling: { field: 'sampling_rate', value: 'same' },
  odid: { field: 'observation_domain_id', value: 'same' },
  version: { field: 'type', value: 'version_to_type' },
});

/** FlowMessage.FlowType member per export protocol version. */
export const flowTypeOfVersion: Readonly<Record<number, string>> = Object.freeze({ 5: 'NETFLOW_V5', 9: 'NETFLOW_V9', 10: 'IPFIX' });
/** FlowMessage.etype for the record's address family (derived from src, not a record field). */
export const ETYPE_IPV4 = 0x0800;
export const ETYPE_IPV6 = 0x86dd;
