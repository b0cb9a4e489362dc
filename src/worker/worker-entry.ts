// Placeholder Worker entry (replaced by the core runtime): answers pings so the build can be tested.
declare const self: Worker;
self.onmessage = (event: MessageEvent) => {
  self.postMessage({ pong: event.data });
};
