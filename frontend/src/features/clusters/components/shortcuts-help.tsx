import { SHORTCUTS } from '../lib/keyboard';

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="lightbox" onClick={onClose}>
      <div className="shortcuts-help" role="dialog" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()}>
        <div className="page-head">
          <h2>Keyboard shortcuts</h2>
          <span className="spacer" />
          <button type="button" className="btn btn-small" onClick={onClose}>
            Close
          </button>
        </div>
        <table className="data-table compact">
          <tbody>
            {SHORTCUTS.map(([keys, what]) => (
              <tr key={keys}>
                <td className="nowrap">
                  <kbd>{keys}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">Keys are ignored while typing in a field. After a decision the gallery moves on to the next unreviewed cluster.</p>
      </div>
    </div>
  );
}
