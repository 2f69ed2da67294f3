"""CloudFront rules."""

import copy

CONFIG = {
    "CallerReference": "ref-1", "Comment": "", "Enabled": True,
    "Origins": {"Quantity": 1, "Items": [{
        "Id": "alb", "DomainName": "lb-1.us-east-1.elb.amazonaws.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                               "OriginProtocolPolicy": "http-only"}}]},
    "DefaultCacheBehavior": {"TargetOriginId": "alb", "ViewerProtocolPolicy": "allow-all",
                             "MinTTL": 0},
}


def _create(emu, reference="ref-1"):
    config = copy.deepcopy(CONFIG)
    config["CallerReference"] = reference
    d = emu.client("cloudfront").create_distribution(DistributionConfig=config)
    return d["Distribution"]["Id"], d["ETag"], d["Distribution"]["Status"]


def _disable(emu, dist, etag):
    cf = emu.client("cloudfront")
    config = cf.get_distribution_config(Id=dist)["DistributionConfig"]
    config["Enabled"] = False
    return cf.update_distribution(Id=dist, IfMatch=etag, DistributionConfig=config)


def test_a_new_distribution_is_in_progress_then_deployed(emulator):
    cf = emulator.client("cloudfront")
    for strict, right_after in [(False, "Deployed"), (True, "InProgress")]:
        emulator.reset(strict=strict)
        dist, _, _ = _create(emulator)
        assert cf.get_distribution(Id=dist)["Distribution"]["Status"] == right_after
    emulator.advance(301)
    assert cf.get_distribution(Id=dist)["Distribution"]["Status"] == "Deployed"


def test_an_enabled_distribution_cannot_be_deleted(run):
    def scenario(emu):
        dist, etag, _ = _create(emu)
        emu.advance(301)
        emu.client("cloudfront").delete_distribution(Id=dist, IfMatch=etag)

    run.both(scenario, "DistributionNotDisabled")


def test_a_disabled_distribution_still_in_progress_cannot_be_deleted(run, emulator):
    def scenario(emu):
        dist, etag, _ = _create(emu)
        emu.advance(301)
        etag = _disable(emu, dist, etag)["ETag"]
        emu.client("cloudfront").delete_distribution(Id=dist, IfMatch=etag)

    run.both(scenario, "DistributionNotDisabled")


def test_if_match_must_be_the_current_etag_and_changes_on_update(run, emulator):
    def scenario(emu):
        dist, etag, _ = _create(emu)
        emu.advance(301)
        new = _disable(emu, dist, etag)["ETag"]
        assert new != etag or not emu.strict_enabled()
        _disable(emu, dist, etag)  # the old ETag

    emulator.strict_enabled = lambda: __import__("strict").core.CONFIG.enabled
    run.both(scenario, "PreconditionFailed")


def test_a_caller_reference_is_never_reused(run):
    def scenario(emu):
        dist, etag, _ = _create(emu)
        emu.advance(301)
        etag = _disable(emu, dist, etag)["ETag"]
        emu.advance(301)
        emu.client("cloudfront").delete_distribution(Id=dist, IfMatch=etag)
        _create(emu)

    run.both(scenario, "DistributionAlreadyExists")
