// Registers the per-kind strategies with the generic registry (import for side effects).
import './core.ts';
import './workloads.ts';
import './batch.ts';
import './storage.ts';
import './scheduling.ts';
import './coordination.ts';
