// Where tests find the repo and the shared corpus, whether run from dist/ or elsewhere.
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

export const repoRoot = projectRoot();
/** ../shared/corpus beside the repo (FLOWGATE_CORPUS overrides). */
export const corpusDir = process.env.FLOWGATE_CORPUS ?? join(repoRoot, '..', 'shared', 'corpus');
export const pcapsDir = join(corpusDir, 'pcaps');
export const truthDir = join(corpusDir, 'truth');
export const compareTool = join(corpusDir, 'tools', 'compare');
export const replayTool = join(corpusDir, 'tools', 'replay');
export const corpusCaptures = ['fprobe_v5_mixed', 'multi_exporter', 'ooo_softflowd_v9_mixed', 'pmacct_v10_mixed',
  'softflowd_v10_bidir_mixed', 'softflowd_v10_milli_vlan', 'softflowd_v10_mixed', 'softflowd_v10_sampled_mixed',
  'softflowd_v9_mixed'] as const;
