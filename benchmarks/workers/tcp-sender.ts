/**
 * Connects to 127.0.0.1:PORT and writes BYTES bytes in 1 MiB chunks, then ends: the sending side of
 * the loopback TCP floor, run as its own process.
 */
const [port, bytes] = process.argv.slice(2).map(Number);
const chunk = new Uint8Array(1 << 20).fill(7);
let left = bytes ?? 0;
let pending: (() => void) | undefined;

const socket = await Bun.connect({
  hostname: "127.0.0.1",
  port: port ?? 0,
  socket: {
    data() {},
    drain() {
      pending?.();
    },
  },
});
while (left > 0) {
  const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
  let offset = 0;
  while (offset < piece.length) {
    const written = socket.write(piece.subarray(offset));
    offset += written;
    if (offset < piece.length) await new Promise<void>((resolve) => (pending = resolve));
  }
  left -= piece.length;
}
socket.end();

export {};
