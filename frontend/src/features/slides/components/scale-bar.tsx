import { useEffect, useState } from 'react';
import type OpenSeadragon from 'openseadragon';
import { micronsPerScreenPixel, niceScaleBar, type ScaleBarSpec } from '../lib/scale-bar';

interface Props {
  viewer: OpenSeadragon.Viewer | null;
  mpp: number | null;
  maxWidthPx?: number;
}

/** Physical scale of the current view; follows every zoom animation frame. */
export function ScaleBar({ viewer, mpp, maxWidthPx = 160 }: Props) {
  const [spec, setSpec] = useState<ScaleBarSpec | null>(null);

  useEffect(() => {
    if (!viewer || !mpp) return undefined;
    const update = () => {
      if (viewer.world.getItemCount() === 0) return;
      const imageZoom = viewer.viewport.viewportToImageZoom(viewer.viewport.getZoom(true));
      setSpec(niceScaleBar(micronsPerScreenPixel(mpp, imageZoom), maxWidthPx));
    };
    const events = ['open', 'animation', 'animation-finish', 'resize', 'update-viewport'] as const;
    events.forEach((e) => viewer.addHandler(e, update));
    update();
    return () => events.forEach((e) => viewer.removeHandler(e, update));
  }, [viewer, mpp, maxWidthPx]);

  if (!mpp) {
    return (
      <div className="scale-bar scale-bar-unknown" data-testid="scale-bar">
        no scale (mpp unknown)
      </div>
    );
  }
  if (!spec) return <div className="scale-bar" data-testid="scale-bar" />;
  return (
    <div className="scale-bar" data-testid="scale-bar" aria-label={`Scale bar ${spec.label}`}>
      <div className="scale-bar-line" style={{ width: `${spec.widthPx}px` }} />
      <span className="scale-bar-label">{spec.label}</span>
    </div>
  );
}
