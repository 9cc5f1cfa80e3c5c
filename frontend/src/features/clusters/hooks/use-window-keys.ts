import { useEffect, useLayoutEffect, useRef } from 'react';

/** Calls the latest `handler` for every keydown on the window, registered once. */
export function useWindowKeys(handler: (e: KeyboardEvent) => void) {
  const ref = useRef(handler);
  useLayoutEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => ref.current(e);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
