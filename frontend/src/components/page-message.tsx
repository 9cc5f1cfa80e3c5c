import type { ReactNode } from 'react';

export function PageMessage({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-message">
      <h1>{title}</h1>
      {children}
    </div>
  );
}
