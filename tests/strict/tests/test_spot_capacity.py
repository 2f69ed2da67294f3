"""Spot capacity runs out (ec2.spot-capacity): a spot group launches nothing,
records Failed activities and retries; on-demand launches succeed. Plain moto
always has spot capacity."""

import copy

import pytest

from helpers import SETTLE, al2023, control, default_vpc, group
from test_autoscaling import activities, instance, members, setup

MESSAGE = ("Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot "
           "capacity available that matches your request. Launching EC2 instance failed.")
RETRY = 10.0


def out_of_capacity(emu):
    assert control(emu, "/strict-api/spot-capacity", {"available": False}) == (
        200, {"available": False})


def test_plain_moto_launches_spot_regardless(emulator):
    emulator.reset(strict=False)
    assert control(emulator, "/strict-api/spot-capacity", {"available": False})[0] == 400
    setup(emulator, hook=None)
    assert [m["LifecycleState"] for m in members(emulator)] == ["InService"]


def test_a_spot_group_fails_and_retries_until_it_goes_on_demand(emulator):
    emulator.reset(strict=True)
    out_of_capacity(emulator)
    _, lt = setup(emulator, hook=None)
    assert members(emulator) == []
    emulator.advance(RETRY)
    emulator.advance(RETRY)
    assert members(emulator) == []
    failed = activities(emulator)
    assert len(failed) == 3 and all(a["StatusCode"] == "Failed" for a in failed)
    for a in failed:
        assert a["StatusMessage"] == MESSAGE and a["Progress"] == 100
        assert a["Description"] == f"Launching a new EC2 instance.  Status Reason: {MESSAGE}"
        assert a["Cause"].startswith("At ") and a["Cause"].endswith(
            "an instance was started in response to a difference between desired and actual "
            "capacity, increasing the capacity from 0 to 1.")
        assert a["StartTime"] and a["EndTime"]

    # A long outage: the first 3 tries recorded, then at most one per 60 s.
    for _ in range(12):
        emulator.advance(RETRY)
    assert len(activities(emulator)) == 5 and members(emulator) == []  # tries 1-3, +60 s, +120 s

    asg = emulator.client("autoscaling")
    policy = copy.deepcopy(asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]["MixedInstancesPolicy"])
    policy["LaunchTemplate"]["LaunchTemplateSpecification"] = {"LaunchTemplateId": lt,
                                                               "Version": "1"}
    policy["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] = 100
    asg.update_auto_scaling_group(AutoScalingGroupName="g", MixedInstancesPolicy=policy)
    emulator.advance(RETRY)
    ((member),) = members(emulator)
    assert member["LifecycleState"] == "InService"
    got = instance(emulator, member["InstanceId"])
    assert got.get("InstanceLifecycle") != "spot" and got["InstanceType"] == "t3.large"
    assert activities(emulator)[0]["StatusCode"] == "Successful"


def test_an_on_demand_group_launches_while_spot_is_out(emulator):
    emulator.reset(strict=True)
    out_of_capacity(emulator)
    setup(emulator, hook=None, spot=False)
    ((member),) = members(emulator)
    assert instance(emulator, member["InstanceId"]).get("InstanceLifecycle") != "spot"


def test_when_capacity_returns_the_next_retry_launches_spot(emulator):
    emulator.reset(strict=True)
    out_of_capacity(emulator)
    setup(emulator, hook=None)
    assert members(emulator) == []
    assert control(emulator, "/strict-api/spot-capacity", {"available": True}) == (
        200, {"available": True})
    emulator.advance(RETRY)
    ((member),) = members(emulator)
    assert instance(emulator, member["InstanceId"])["InstanceLifecycle"] == "spot"
    assert [a["StatusCode"] for a in activities(emulator)] == ["Successful", "Failed"]


def test_a_spot_run_instances_fails_with_insufficient_capacity(emulator):
    def run(emu):
        vpc, subnets = default_vpc(emu)
        sg = group(emu, "spot", vpc)
        emu.advance(SETTLE)
        return emu.client("ec2").run_instances(
            ImageId=al2023(emu), MinCount=1, MaxCount=1, InstanceType="t3.large",
            SecurityGroupIds=[sg], SubnetId=subnets[0]["SubnetId"],
            InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]

    emulator.reset(strict=False)
    assert run(emulator)["InstanceLifecycle"] == "spot"
    emulator.reset(strict=True)
    out_of_capacity(emulator)
    ec2 = emulator.client("ec2")
    with pytest.raises(ec2.exceptions.ClientError) as caught:
        run(emulator)
    error = caught.value.response
    assert error["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "no Spot capacity available" in error["Error"]["Message"]
    assert ec2.describe_instances()["Reservations"] == []


@pytest.mark.parametrize("body", [{}, {"available": "false"}, {"available": 0},
                                  {"available": False, "x": 1}])
def test_bad_control_bodies_are_refused_and_change_nothing(emulator, body):
    emulator.reset(strict=True)
    code, answer = control(emulator, "/strict-api/spot-capacity", body)
    assert code == 400 and answer["error"]
    out_of_capacity(emulator)
    code, answer = control(emulator, "/strict-api/spot-capacity", body)
    assert code == 400 and answer["error"]
    setup(emulator, hook=None)
    assert members(emulator) == [], "still out of capacity"
    control(emulator, "/strict-api/reset", {})
    assert control(emulator, "/strict-api/spot-capacity", {"available": True})[1] == {
        "available": True}
