/** The group rule language in brief; the server's parser is the authority. */
export function RuleHelp() {
  return (
    <details className="rule-help">
      <summary>Rule syntax</summary>
      <ul>
        <li>
          <code>stain = "H&amp;E"</code>, <code>tissue != liver</code> — a category key and a term (name or synonym; quote
          it when it holds spaces or symbols)
        </li>
        <li>
          <code>tissue IN (colon, rectum)</code> — any of several terms
        </li>
        <li>
          <code>indication IS SET</code>, <code>fixation IS NOT SET</code> — the slide has (no) term of that category
        </li>
        <li>
          combine with <code>AND</code>, <code>OR</code>, <code>NOT</code> and parentheses:{' '}
          <code>stain = "H&amp;E" AND (tissue = colon OR tissue = rectum) AND NOT lab = "Lab B"</code>
        </li>
        <li>Keys and words are case-insensitive.</li>
      </ul>
    </details>
  );
}
