import { useEffect, useRef, useState } from 'react';
import { useDebouncedValue } from '@/utils/use-debounced-value';

/**
 * A text box bound to a URL value: keystrokes stay local and are committed after a pause;
 * a URL change from elsewhere (back button, a link) replaces the text.
 */
export function useCommittedText(urlValue: string, commit: (value: string) => void, delayMs = 300) {
  const [text, setText] = useState(urlValue);
  const debounced = useDebouncedValue(text, delayMs);
  const lastCommitted = useRef(urlValue);

  useEffect(() => {
    if (urlValue !== lastCommitted.current) {
      lastCommitted.current = urlValue;
      setText(urlValue);
    }
  }, [urlValue]);

  useEffect(() => {
    if (debounced !== lastCommitted.current) {
      lastCommitted.current = debounced;
      commit(debounced);
    }
    // `commit` is intentionally left out: only a settled new text should trigger it.
  }, [debounced]);

  return [text, setText] as const;
}
