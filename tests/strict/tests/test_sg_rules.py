"""Rules per security group: a referenced prefix list counts as its weight,
so CloudFront's origin-facing list (55) fits on one port and not on two."""

import json
import urllib.request

import boto3

from helpers import SETTLE, default_vpc, group

CLOUDFRONT = "com.amazonaws.global.cloudfront.origin-facing"


def cloudfront_list(ec2):
    found = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT]}])["PrefixLists"]
    assert len(found) == 1, found
    return found[0]


def from_cloudfront(pl, *ports):
    return [{"IpProtocol": "tcp", "FromPort": p, "ToPort": p,
             "PrefixListIds": [{"PrefixListId": pl, "Description": "CloudFront"}]}
            for p in ports]


def origin_group(emu):
    vpc, _ = default_vpc(emu)
    sg = group(emu, "origin", vpc)
    emu.advance(SETTLE)
    return sg, cloudfront_list(emu.client("ec2"))["PrefixListId"]


def ingress(emu, sg):
    return emu.client("ec2").describe_security_groups(GroupIds=[sg])[
        "SecurityGroups"][0]["IpPermissions"]


def set_quota(emu, code, value):
    request = urllib.request.Request(f"{emu.url}/strict-api/quota",
                                     data=json.dumps({code: value}).encode(), method="POST")
    urllib.request.urlopen(request).read()


def test_the_cloudfront_list_is_in_every_region_with_its_weight(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            ec2 = boto3.client("ec2", region_name=region, endpoint_url=emulator.url,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            pl = cloudfront_list(ec2)
            assert (pl["OwnerId"], pl["AddressFamily"]) == ("AWS", "IPv4")
            assert pl.get("MaxEntries") == (55 if strict else None), "moto has no MaxEntries"
            entries = ec2.get_managed_prefix_list_entries(PrefixListId=pl["PrefixListId"])
            assert entries["Entries"]


def test_the_cloudfront_list_on_two_ports_is_over_the_quota(run):
    def one_call(emu):
        sg, pl = origin_group(emu)
        emu.client("ec2").authorize_security_group_ingress(
            GroupId=sg, IpPermissions=from_cloudfront(pl, 80, 443))

    def two_calls(emu):
        sg, pl = origin_group(emu)
        ec2 = emu.client("ec2")
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=from_cloudfront(pl, 443))
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=from_cloudfront(pl, 80))

    message = run.both(one_call, "RulesPerSecurityGroupLimitExceeded")
    assert "maximum number of rules per security group" in message
    run.both(two_calls, "RulesPerSecurityGroupLimitExceeded")


def test_a_refused_request_adds_none_of_its_rules(emulator):
    emulator.reset(strict=True)
    sg, pl = origin_group(emulator)
    try:
        emulator.client("ec2").authorize_security_group_ingress(
            GroupId=sg, IpPermissions=from_cloudfront(pl, 80, 443))
    except emulator.client("ec2").exceptions.ClientError:
        pass
    assert ingress(emulator, sg) == []


def test_the_cloudfront_list_on_one_port_is_accepted(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        sg, pl = origin_group(emulator)
        emulator.client("ec2").authorize_security_group_ingress(
            GroupId=sg, IpPermissions=from_cloudfront(pl, 443))
        (rule,) = ingress(emulator, sg)
        assert rule["PrefixListIds"][0]["PrefixListId"] == pl


def test_re_authorizing_the_same_rule_is_a_duplicate_not_a_quota_error(emulator):
    emulator.reset(strict=True)
    sg, pl = origin_group(emulator)
    ec2 = emulator.client("ec2")
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=from_cloudfront(pl, 443))
    try:
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=from_cloudfront(pl, 443))
        raise AssertionError("accepted twice")
    except ec2.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidPermission.Duplicate"


def test_cidrs_and_groups_count_with_the_list(run):
    def scenario(emu):
        sg, pl = origin_group(emu)
        vpc, _ = default_vpc(emu)
        other = group(emu, "other", vpc)
        emu.advance(SETTLE)
        ec2 = emu.client("ec2")
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=from_cloudfront(pl, 443))
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": f"10.0.{i}.0/24"} for i in range(4)],
             "UserIdGroupPairs": [{"GroupId": other}]}])  # 55 + 4 + 1 = 60: at the quota
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "10.0.9.0/24"}]}])  # 61

    run.both(scenario, "RulesPerSecurityGroupLimitExceeded")


def test_the_quota_can_be_raised_through_the_quota_api(emulator):
    emulator.reset(strict=True)
    set_quota(emulator, "L-0EA8095F", 120)
    quota = emulator.client("service-quotas").get_service_quota(
        ServiceCode="vpc", QuotaCode="L-0EA8095F")["Quota"]
    assert quota["Value"] == 120
    sg, pl = origin_group(emulator)
    emulator.client("ec2").authorize_security_group_ingress(
        GroupId=sg, IpPermissions=from_cloudfront(pl, 80, 443))
    assert len(ingress(emulator, sg)) == 2
    emulator.reset(strict=True)
    assert emulator.client("service-quotas").get_service_quota(
        ServiceCode="vpc", QuotaCode="L-0EA8095F")["Quota"]["Value"] == 60
