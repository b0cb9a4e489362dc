/** A Bun Worker that posts back every message it gets: the raw postMessage round-trip floor. */
declare const self: Worker;

export {};

self.onmessage = (event: MessageEvent) => {
  self.postMessage(event.data);
};
