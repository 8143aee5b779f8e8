// What an instance does (config `role`, `flowgate serve --role`): docs/scaling.md.
//   all      receive UDP and decode, one process (the default)
//   receive  UDP in, each datagram to the raw topic, no decoding
//   decode   a consumer group member on the raw topic, decoding to tenant topics
export const roles = ['all', 'receive', 'decode'] as const;
export type Role = (typeof roles)[number];
