// The console's loading, empty and error states: one shape, announced to screen readers.
import type { ComponentChildren } from 'preact';

export function StatusMessage({
  kind,
  title,
  children,
}: {
  kind: 'loading' | 'empty' | 'error';
  title: string;
  children?: ComponentChildren;
}) {
  return (
    <section class={`message message-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-state={kind}>
      <p class="message-title">{title}</p>
      {children && <p>{children}</p>}
    </section>
  );
}
