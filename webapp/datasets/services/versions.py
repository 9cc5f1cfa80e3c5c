"""Dataset versions: create, edit and delete drafts, clone. A version being built or built
is immutable (409 `immutable`); a clone is a new draft with the same recipe."""

from django.conf import settings
from django.db import transaction

from webapp.audit.services import audit_one
from webapp.clusters.models import ClusterRun
from webapp.core.errors import ServiceError
from webapp.datasets.models import DatasetVersion, VersionStatus
from webapp.datasets.services.recipes import recipe_clean, run_check

EDITABLE = (VersionStatus.DRAFT, VersionStatus.FAILED)


def version_dir(version: DatasetVersion):
    return settings.DATA_ROOT / version.folder


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the dataset version a name.", code="invalid")
    if len(name) > 200:
        raise ServiceError("The name is longer than 200 characters.", code="invalid")
    return name


def _immutable(version: DatasetVersion) -> None:
    if version.status not in EDITABLE:
        raise ServiceError(
            f"Version {version.pk} is {version.status}: a built version cannot be changed or "
            "deleted; clone it to make a new draft.",
            code="immutable",
            status_code=409,
        )


@transaction.atomic
def version_create(
    *, actor, name: str, cluster_run: ClusterRun, recipe: dict | None = None, parent=None
) -> DatasetVersion:
    run_check(cluster_run)
    version = DatasetVersion.objects.create(
        name=_name(name),
        cluster_run=cluster_run,
        recipe=recipe_clean(recipe),
        parent=parent,
        created_by=actor,
    )
    version.folder = f"datasets/version-{version.pk}"
    version.save(update_fields=["folder"])
    audit_one(
        actor=actor,
        action="dataset.clone" if parent else "dataset.create",
        object_type="dataset_version",
        object_id=version.pk,
        after={
            "name": version.name,
            "cluster_run": cluster_run.pk,
            "recipe": version.recipe,
            "parent": getattr(parent, "pk", None),
        },
    )
    return version


@transaction.atomic
def version_update(*, actor, version: DatasetVersion, **changes) -> DatasetVersion:
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    _immutable(version)
    before = {"name": version.name, "cluster_run": version.cluster_run_id, "recipe": version.recipe}
    if "name" in changes:
        version.name = _name(changes["name"])
    if "cluster_run" in changes:
        run_check(changes["cluster_run"])
        version.cluster_run = changes["cluster_run"]
    if "recipe" in changes:
        version.recipe = recipe_clean(changes["recipe"])
    if version.status == VersionStatus.FAILED:  # an edited failed version is a draft again
        version.status = VersionStatus.DRAFT
    version.save()
    audit_one(
        actor=actor,
        action="dataset.update",
        object_type="dataset_version",
        object_id=version.pk,
        before=before,
        after={
            "name": version.name,
            "cluster_run": version.cluster_run_id,
            "recipe": version.recipe,
        },
    )
    return version


@transaction.atomic
def version_delete(*, actor, version: DatasetVersion) -> None:
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    _immutable(version)
    audit_one(
        actor=actor,
        action="dataset.delete",
        object_type="dataset_version",
        object_id=version.pk,
        before={"name": version.name, "status": version.status, "recipe": version.recipe},
    )
    version.delete()


def version_clone(*, actor, version: DatasetVersion, name: str = "") -> DatasetVersion:
    """A new draft with the same cluster run and recipe; `parent` points at the original."""
    return version_create(
        actor=actor,
        name=name or f"{version.name} (copy)"[:200],
        cluster_run=version.cluster_run,
        recipe=version.recipe,
        parent=version,
    )
