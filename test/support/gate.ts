// A promise with its resolver, for holding a fake activity or gateway until the test lets it go (Node 20 has no
// Promise.withResolvers).
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}
