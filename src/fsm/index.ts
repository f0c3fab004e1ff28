/** Public surface of the replicated state machine. */
export { type CommandSession, decodeCommand, encodeCommand, type FsmCommand } from "./commands.ts";
export { MemoryStore } from "./memory-store.ts";
export type { ApplyResult, StateMachine, StoredValue } from "./state-machine.ts";
