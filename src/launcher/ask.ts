/** A yes/no question on the terminal; without one (no TTY on stdin) the answer is no. */

/** Prints `question` and reads y/yes (anything else, or no terminal, is no). */
export async function askYesNo(question: string): Promise<boolean> {
  process.stdout.write(`${question}\n`);
  if (process.stdin.isTTY !== true) {
    process.stdout.write("(no terminal to ask on: taken as no; pass --yes to confirm)\n");
    return false;
  }
  process.stdout.write("[y/N] ");
  const answer = await new Promise<string>((resolve) => {
    process.stdin.once("data", (data) => resolve(String(data)));
  });
  process.stdin.pause();
  return /^\s*y(es)?\s*$/i.test(answer);
}
