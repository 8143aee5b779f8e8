// RFC 5103 reverse information elements: (REVERSE_PEN, id) is the reverse-direction twin of IANA's
// (0, id), named `reverse` + the name with its first letter capitalised (reverseOctetDeltaCount).
//
// Every named IANA element gets its twin, including the few that RFC 5103 section 6.1 calls not
// reversible (process configuration and statistics, paddingOctets, biflowDirection...): a
// conforming exporter never sends those, so naming them costs nothing, while leaving out one that
// an exporter does send would turn it into e29305_{id}.
import { REVERSE_PEN, type ElementDefinition } from './definition.js';

export function reverseName(name: string): string {
  return `reverse${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/** The reverse twin of each IANA (pen 0) definition, same id and type. */
export function reverseElements(iana: readonly ElementDefinition[]): ElementDefinition[] {
  return iana.filter((e) => e.pen === 0).map((e) => ({ pen: REVERSE_PEN, id: e.id, name: reverseName(e.name), type: e.type }));
}
