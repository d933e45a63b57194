/**
 * vxnet/nftables: nf_tables over nfnetlink, in TypeScript. Tables, chains,
 * rules (with their expressions decoded, unknown ones kept byte for byte)
 * and sets; atomic batches with an ack per message and generation checks.
 */
export * from './constants.js';
export {
  type Family,
  familyName,
  familyNumber,
  header,
  type NfGenMsg,
  nfgenmsg,
  nftablesTypeName,
  nftType,
} from './nfgenmsg.js';
export {
  batchControlMessage,
  batchSchema,
  commitBatch,
  type CommitOptions,
  type CommitResult,
  NftBatch,
  type RuleOptions,
} from './batch.js';
export { type Generation, generationFromWire, generationSchema, readGeneration } from './generation.js';
export { ERESTART, explainNftables, GenerationChangedError, NftBatchError } from './errors.js';
export {
  type Table,
  type TableFlag,
  TABLE_FLAGS,
  tableAttrs,
  tableFromWire,
  tableSchema,
  tableToWire,
  newTableMessage,
  deleteTableMessage,
  getTableMessage,
} from './table.js';
export {
  type Chain,
  type ChainFlag,
  CHAIN_FLAGS,
  chainAttrs,
  chainFromWire,
  chainSchema,
  chainToWire,
  type Hook,
  isBaseChain,
  type Policy,
  PRIORITY,
  newChainMessage,
  deleteChainMessage,
  getChainMessage,
} from './chain.js';
export {
  formatRule,
  type Rule,
  ruleAttrs,
  ruleFromWire,
  ruleSchema,
  ruleToWire,
  newRuleMessage,
  deleteRuleMessage,
  getRuleMessage,
} from './rule.js';
export {
  elementsFromWire,
  type NftSet,
  SET_FLAGS,
  SET_KEY_TYPES,
  type SetElement,
  type SetElementInput,
  type SetFlag,
  type SetRef,
  setAttrs,
  setElementsSchema,
  setFromWire,
  setSchema,
  setToWire,
} from './set.js';
export * from './expr/index.js';
export {
  COMMENT_MAXLEN,
  commentOf,
  encodeComment,
  encodeUserdata,
  parseUserdata,
  type UserdataItem,
} from './userdata.js';
export { counter, masquerade, type MasqExpressionOptions, match, verdict } from './match.js';
export { checkInterfaceName, checkName } from './names.js';
export { type ListOptions, Nftables, type NftablesOptions, type Ruleset } from './client.js';
