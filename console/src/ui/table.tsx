import { Button } from './forms';
import type { ReactNode } from 'react';

/** A data table: its column headings (an empty one is the actions column, named for screen readers), then its rows. */
export function Table({
  columns,
  caption,
  children,
}: {
  columns: ReactNode[];
  caption?: string;
  children: ReactNode;
}) {
  return (
    <table className="table">
      {caption ? <caption>{caption}</caption> : null}
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th scope="col" key={i}>
              {column === '' ? <span className="sr-only">Actions</span> : column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** Newer and Older over a cursor-paged list: `cursors` is the stack of pages gone through. */
export function Pager<C>({
  cursors,
  onChange,
  next,
}: {
  cursors: C[];
  onChange: (cursors: C[]) => void;
  next: C | null;
}) {
  return (
    <div className="actions">
      <Button
        variant="secondary"
        isDisabled={cursors.length === 0}
        onPress={() => onChange(cursors.slice(0, -1))}
      >
        Newer
      </Button>
      <Button
        variant="secondary"
        isDisabled={next === null}
        onPress={() => next !== null && onChange([...cursors, next])}
      >
        Older
      </Button>
    </div>
  );
}
