from django.contrib import admin

from webapp.slides.models import ScanJob, Slide, SlideRoot


@admin.register(SlideRoot)
class SlideRootAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "created_at"]


@admin.register(Slide)
class SlideAdmin(admin.ModelAdmin):
    list_display = ["name", "root", "status", "vendor", "mpp_x", "updated_at"]
    list_filter = ["status", "vendor", "root"]
    search_fields = ["name", "relative_path"]
    readonly_fields = ["fingerprint", "properties"]
    show_full_result_count = False  # no COUNT(*) over 134k rows on every admin page


@admin.register(ScanJob)
class ScanJobAdmin(admin.ModelAdmin):
    list_display = ["id", "root", "status", "processed", "total", "created_at"]
    list_filter = ["status"]
