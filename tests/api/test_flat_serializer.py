"""FlatSerializer: fields copied shallowly per instance, with nothing shared that DRF keeps per instance."""

from rest_framework import serializers

from loyalty.api.serializers import StampRequest
from loyalty_site.api.serializers import FlatSerializer


class Body(FlatSerializer):
    count = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=5)
    at = serializers.DateTimeField(required=False)


class WithChildren(FlatSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=3))
    inner = Body(required=False)


def test_each_instance_binds_its_own_copies():
    first, second = Body(data={}), Body(data={})

    assert first.fields["count"] is not second.fields["count"]
    assert first.fields["count"].parent is first and second.fields["count"].parent is second
    assert Body._declared_fields["count"].parent is None  # the declared field is never bound


def test_instances_validate_independently():
    bad, good = Body(data={"count": 0, "name": "too long"}), Body(data={"count": 2, "name": "ok"})

    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"count", "name"}
    assert good.validated_data == {"count": 2, "name": "ok"}
    assert Body(data={"count": 3, "name": "again"}).is_valid()  # validators are unchanged by earlier use


def test_serializers_with_children_are_deep_copied_as_drf_does():
    first, second = WithChildren(data={}), WithChildren(data={})

    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert first.fields["inner"] is not second.fields["inner"]
    assert not WithChildren(data={"tags": ["long one"]}).is_valid()
    assert WithChildren(data={"tags": ["ok"]}).is_valid()


def test_the_tills_request_bodies_are_flat_serializers():
    request = StampRequest(data={"card_id": 7, "staff_pin": "1234"})

    assert isinstance(request, FlatSerializer)
    assert request.is_valid(), request.errors
    assert request.validated_data["card_ref"].card_id == 7
