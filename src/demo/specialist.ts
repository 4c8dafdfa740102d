/**
 * A demo specialist: one skill, answered with node.handle on SKILL_PORT (one stream per request);
 * the summariser also takes documents on a long-lived stream (DOCS_PORT) and answers each with
 * its summary. Its key file makes its address permanent across restarts.
 */
import { HublessError } from '../errors.js';
import type { Node } from '../node/node.js';
import type { Stream } from '../stream/stream.js';
import { checkSkillRequest, DOCS_PORT, MAX_INPUT_CHARS, SKILL_PORT, type Specialty } from './protocol.js';
import { evaluate, summarize, translate } from './skills.js';

function work(capability: string, input: string): string {
  switch (capability) {
    case 'summarize': return summarize(input, 2);
    case 'translate': return translate(input, 'en', 'fr');
    case 'math.eval': return String(evaluate(input));
    default: throw new HublessError('ERR_HUBLESS_DEMO_UNSUPPORTED', `no skill ${capability}`);
  }
}

/** Serves `spec`'s skill on `node`. */
export function serveSkill(node: Node, spec: Specialty): void {
  node.handle(SKILL_PORT, (payload) => {
    const req = checkSkillRequest(payload);
    if (req === null) throw new HublessError('ERR_HUBLESS_DEMO_INPUT', `a request is { capability, input } with at most ${MAX_INPUT_CHARS} characters`);
    if (req.capability !== spec.capability.name) {
      throw new HublessError('ERR_HUBLESS_DEMO_UNSUPPORTED', `I do ${spec.capability.name}, not ${req.capability}`);
    }
    return work(req.capability, req.input);
  }, { maxRequestSize: MAX_INPUT_CHARS * 4 + 256 });
  if (spec.capability.name === 'summarize') {
    node.listen(DOCS_PORT).on('stream', (stream) => void summarizeDocuments(stream));
  }
}

/** Each message on the stream is a document; each answer, its summary; FIN ends the batch. */
async function summarizeDocuments(stream: Stream): Promise<void> {
  stream.on('error', () => {});  // the coordinator going away is its business
  try {
    for await (const doc of stream.messages({ maxMessageSize: MAX_INPUT_CHARS * 4 + 64 })) {
      if (typeof doc !== 'string') throw new HublessError('ERR_HUBLESS_DEMO_INPUT', 'a document is a string');
      await stream.sendMessage(summarize(doc, 1));
    }
    stream.end();
  } catch {
    stream.destroy();
  }
}
