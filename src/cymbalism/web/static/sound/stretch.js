// Signalsmith Stretch (MIT; vendored, see ../vendor/signalsmith-stretch/) as an
// AudioWorklet: the song's recording at another speed, its pitch kept.
//
// The node holds the recording and follows a time map: from audio time `output` on, it
// plays the recording from `input` at `rate` (recording seconds per second), seeking
// afresh every render quantum, so it never drifts from the map and a jump back (a loop)
// is seamless. Its schedule() keeps one change ahead of the one playing: a change is
// sent once the one before it has begun (StretchVoice does that), a short while before
// it is due (LEAD_SEC: more than the node's own latency, which it compensates).

import SignalsmithStretch from "../vendor/signalsmith-stretch/SignalsmithStretch.mjs";

// the worklet loads the same file (no Blob URL, nothing from elsewhere)
SignalsmithStretch.moduleUrl = new URL("../vendor/signalsmith-stretch/SignalsmithStretch.mjs", import.meta.url).href;

export const LEAD_SEC = 0.3;
// a change is sent only after the one before it is this far into its play
const BEGUN_SEC = 0.01;

export class StretchVoice {
  /** Use StretchVoice.create(). */
  constructor(ctx, node) {
    this.ctx = ctx;
    this.node = node;
    this.buffer = null;     // the recording it holds
    this.queue = [];        // changes not sent yet: {output, input, rate, active}
    this.lastSent = -Infinity;
    this.sent = [];         // every change sent (read by tests)
  }

  /**
   * A stretch node holding `buffer` (an AudioBuffer with 2 or 4 channels).
   */
  static async create(ctx, buffer) {
    const channels = buffer.numberOfChannels;
    // one input, left unconnected: the node then plays its buffers (with no input at
    // all its silent state would read a missing input and stop)
    const node = await SignalsmithStretch(ctx, {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [channels],
    });
    const voice = new StretchVoice(ctx, node);
    await voice.load(buffer);
    return voice;
  }

  /**
   * Hold another recording (with as many channels as the node was made for): a node
   * keeps running once made, so the page reuses one rather than making more.
   */
  async load(buffer) {
    if (this.buffer === buffer) return;
    if (this.buffer) await this.node.dropBuffers();
    const data = [];
    for (let c = 0; c < buffer.numberOfChannels; c++) data.push(buffer.getChannelData(c).slice());
    await this.node.addBuffers(data, data.map((d) => d.buffer));
    this.buffer = buffer;
    this.queue = []; this.lastSent = -Infinity;
  }

  /** Queue a change of the time map (sent by pump() in time). */
  change(change) { this.queue.push(change); }

  /** Send what is due; the audio time of the next thing to do (Infinity: nothing). */
  async pump(now) {
    while (this.queue.length) {
      const next = this.queue[0];
      if (this.lastSent > now - BEGUN_SEC) return this.lastSent + BEGUN_SEC;
      if (next.output - now > LEAD_SEC) return next.output - LEAD_SEC;
      this.queue.shift();
      this.lastSent = next.output;
      this.sent.push({ ...next, sent_at: now });
      await this.node.schedule({ ...next });
    }
    return Infinity;
  }

  /** Silence it from audio time `when` (dropping what was queued). */
  stop(when) {
    this.queue = [];
    this.node.schedule({ active: false, output: when });
  }
}
