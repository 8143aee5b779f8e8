// The state generation: a number that changes whenever the decode state worth saving
// changes (a template defined, refreshed, replaced, withdrawn or expired; options data
// changed; a session released). The host saves a snapshot (state.ts) only when it moved.

export let stateGeneration: u32 = 0;

@inline export function stateChanged(): void {
  stateGeneration++;
}
