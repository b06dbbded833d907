/**
 * Worker thread of the CPU ensemble engine (cpu.ts; Node only): says
 * `ready`, then runs each member it is sent with the f64 solver
 * ({@link runMember}) and posts its stage progress and its result.
 */
import { parentPort } from 'node:worker_threads';
import { runMember } from './member.js';
import type { WorkerMessage, WorkerTask } from './cpu.js';

const port = parentPort;
if (!port) throw new Error('cpu-worker.js runs as a worker thread of the CPU ensemble engine (src/ensemble/cpu.ts)');

const post = (m: WorkerMessage) => port.postMessage(m);

port.on('message', (task: WorkerTask) => {
  const result = runMember(task.index, task.protocol, task.values, {
    profiles: task.profiles,
    progressIntervalMs: task.progressIntervalMs,
    summary: task.summary,
    observations: task.observations,
    keepModel: task.keepModel,
    onStage: (stage, fraction) => post({ type: 'stage', index: task.index, stage, fraction }),
  });
  post({ type: 'done', result });
});

post({ type: 'ready' });
