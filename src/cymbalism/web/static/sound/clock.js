// The page's two clocks: performance.now() (the base of every event's timeStamp, and of
// the song's time line once the server's clock is synced) and the AudioContext's time,
// on which every sound is started. The map between them is read from
// AudioContext.getOutputTimestamp() (the context time being heard at a page time), so it
// includes the output latency: a sound started at audioTimeOf(ms) is heard at page time
// ms. Where the browser gives no timestamp, currentTime less outputLatency (or
// baseLatency) stands in.
//
// The map is held steady: the two clocks drift apart slowly (a sound card's crystal),
// so it is re-read on every refresh() and moved only when the median of the recent
// readings is more than DRIFT_SEC away, so sounds placed one after another keep their
// spacing to the sample.

export const DRIFT_SEC = 0.001;
const READINGS = 15;

export class AudioClock {
  /** @param {BaseAudioContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.offsetSec = null;      // audio time - page time, both in seconds
    this.readings = [];
  }

  /** One reading of (audio time heard) - (page time), in seconds. */
  read() {
    const ctx = this.ctx;
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0 && ts.contextTime > 0)
      return ts.contextTime - ts.performanceTime / 1000;
    const latency = ctx.outputLatency || ctx.baseLatency || 0;
    return ctx.currentTime - latency - performance.now() / 1000;
  }

  /** Take a reading; move the map if the clocks have drifted. */
  refresh() {
    this.readings.push(this.read());
    if (this.readings.length > READINGS) this.readings.shift();
    const sorted = [...this.readings].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    if (this.offsetSec === null || Math.abs(median - this.offsetSec) > DRIFT_SEC)
      this.offsetSec = median;
    return this.offsetSec;
  }

  /** The audio time heard at page time ms (event.timeStamp, performance.now()). */
  audioTimeOf(ms) {
    if (this.offsetSec === null) this.refresh();
    return ms / 1000 + this.offsetSec;
  }

  /** The page time (ms) at which audio time sec is heard. */
  pageMsOf(sec) {
    if (this.offsetSec === null) this.refresh();
    return (sec - this.offsetSec) * 1000;
  }
}
