from rest_framework import serializers

from webapp.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    slide = serializers.IntegerField(source="slide_id", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "slide",
            "before",
            "after",
        ]
        read_only_fields = fields
