"""A slide's outcome is counted once in its run, whatever the number of copies of its task
(a redelivered dispatch sends every slide's task again)."""

from webapp.tiling import services
from webapp.tiling.models import SlideTiling, TilingRun


def test_a_second_copy_of_each_slide_task_counts_nothing(registered_root, tiling_config):
    run = services.run_start(config=tiling_config, untiled=True)
    tilings = list(services.run_tilings(run))
    assert len(tilings) >= 2
    for tiling_id in tilings:  # the first dispatch, all the way
        services.slide_tile(tiling_id=tiling_id)
    first = TilingRun.objects.get(pk=run.pk)
    assert first.done + first.failed == first.total == len(tilings) and first.skipped == 0
    for tiling_id in tilings:  # the redelivered dispatch's copies
        services.slide_tile(tiling_id=tiling_id)
    again = TilingRun.objects.get(pk=run.pk)
    assert (again.done, again.failed, again.skipped, again.tile_count) == (
        first.done, first.failed, 0, first.tile_count,
    )  # fmt: skip
    assert again.status == first.status and again.finished_at == first.finished_at

    # a new run over the same slides counts each of them once more, as skipped
    slide_ids = list(SlideTiling.objects.filter(run=run).values_list("slide_id", flat=True))
    second = services.run_start(config=tiling_config, slide_ids=slide_ids)
    assert not SlideTiling.objects.filter(run=second, counted=True).exists()
    for _ in range(2):
        for tiling_id in services.run_tilings(second):
            services.slide_tile(tiling_id=tiling_id)
    second = TilingRun.objects.get(pk=second.pk)
    assert second.skipped == first.done and second.done == 0
