"""CloudFront: a distribution is InProgress after every create and update,
can be deleted only once disabled and Deployed, takes If-Match seriously, gets
a new ETag on every change, and never forgets a CallerReference."""

from __future__ import annotations

from moto.cloudfront.exceptions import CloudFrontException, DistributionAlreadyExists
from moto.cloudfront.models import CloudFrontBackend, Distribution
from moto.moto_api._internal import mock_random

from . import core
from .core import patch, rule

IN_PROGRESS = rule(
    "cloudfront.in-progress",
    "A distribution is InProgress after a create or an update, then Deployed",
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-returned.html",
    latency="minutes (modelled 300 s)",
)
DELETE_DISABLED = rule(
    "cloudfront.delete-disabled",
    "DeleteDistribution is refused (DistributionNotDisabled) while the distribution is "
    "enabled or still InProgress",
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HowToDeleteDistribution.html",
)
IF_MATCH = rule(
    "cloudfront.if-match",
    "UpdateDistribution and DeleteDistribution with an If-Match other than the current "
    "ETag answer PreconditionFailed; the ETag changes on every update",
    "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html",
)
CALLER_REFERENCE = rule(
    "cloudfront.caller-reference",
    "A CallerReference already sent in an earlier CreateDistribution (even of a deleted "
    "distribution) answers DistributionAlreadyExists",
    "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html",
)

DEPLOY_SECS = 300.0

_original_status = Distribution.status


def _status(self: Distribution):
    strict = getattr(self, "_strict_status", None)
    if core.CONFIG.enabled and strict is not None:
        return strict
    return _original_status.fget(self)


def _set_status(self: Distribution, value) -> None:
    _original_status.fset(self, value)


Distribution.status = property(_status, _set_status)


def _deploying(dist: Distribution) -> None:
    dist._strict_status = "InProgress"
    dist.etag = mock_random.get_random_hex(14).upper()
    started = core.now()
    dist._strict_started = started

    def deployed():
        if getattr(dist, "_strict_started", None) == started:
            dist._strict_status = "Deployed"

    core.later(DEPLOY_SECS, deployed)


def _precondition(dist: Distribution, if_match) -> None:
    if if_match != dist.etag:
        raise CloudFrontException(
            "PreconditionFailed",
            "The If-Match version is missing or not valid for the resource.")


_references: set[str] = set()
core.on_reset(_references.clear)


@patch(CloudFrontBackend, "create_distribution_with_tags")
def _create(original, self, distribution_config, tags):
    reference = distribution_config.get("CallerReference")
    if reference in _references:
        raise DistributionAlreadyExists(reference)
    dist, location, _ = original(self, distribution_config, tags)
    _references.add(reference)
    _deploying(dist)
    return dist, location, dist.etag


@patch(CloudFrontBackend, "update_distribution")
def _update(original, self, dist_config, _id, if_match):
    dist = self.distributions.get(_id)
    if dist is not None:
        _precondition(dist, if_match)
    dist, location, _ = original(self, dist_config, _id, if_match)
    _deploying(dist)
    return dist, location, dist.etag


@patch(CloudFrontBackend, "delete_distribution")
def _delete(original, self, distribution_id, if_match):
    dist = self.distributions.get(distribution_id)
    if dist is not None:
        _precondition(dist, if_match)
        enabled = str(dist.distribution_config.__dict__.get("Enabled")).lower() == "true"
        if enabled or dist.status != "Deployed":
            raise CloudFrontException(
                "DistributionNotDisabled",
                "The distribution you are trying to delete has not been disabled "
                "(or is still InProgress).")
    return original(self, distribution_id, if_match)
