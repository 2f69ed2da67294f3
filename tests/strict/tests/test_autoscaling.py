"""Auto Scaling: lost instances replaced, launch hooks held, the fake
instance's boot completing its hook, spot interruptions, scaling activities.
Plain moto launches InService at once, ignores hooks and records nothing."""

import base64
import json

import pytest

from helpers import SETTLE, al2023, control, default_vpc, group, profile

HOOK = "geusemaker-ready"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
DETECT, BOOT = 30.0, 60.0
USER_DATA = base64.b64encode(b"#!/bin/bash\necho boot\n").decode()


def setup(emu, hook=900, default="ABANDON", spot=True, eip=False, desired=1, sizes=None):
    """The product's group of one over two subnets: a mixed-instances policy,
    a target group, the Stack tag propagated, and (hook) the launch hook;
    `sizes` overrides MinSize, MaxSize, DesiredCapacity."""
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "inst", vpc)
    arn = profile(emu, "inst")
    emu.advance(SETTLE)
    ec2, asg = emu.client("ec2"), emu.client("autoscaling")
    tg = emu.client("elbv2").create_target_group(
        Name="tg", Protocol="HTTP", Port=5678, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    lt = ec2.create_launch_template(LaunchTemplateName="lt", LaunchTemplateData={
        "ImageId": al2023(emu), "InstanceType": "t3.medium", "UserData": USER_DATA,
        "SecurityGroupIds": [sg], "IamInstanceProfile": {"Arn": arn},
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        "TagSpecifications": [{"ResourceType": "instance",
                               "Tags": [{"Key": "Name", "Value": "s1-ai-stack"}]}],
    })["LaunchTemplate"]["LaunchTemplateId"]
    if eip:
        ec2.allocate_address(Domain="vpc", TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": [{"Key": "Stack", "Value": "s1"}]}])
    args = dict(
        AutoScalingGroupName="g", MinSize=desired, MaxSize=1, DesiredCapacity=desired,
        VPCZoneIdentifier=",".join(s["SubnetId"] for s in subnets[:2]),
        MixedInstancesPolicy={
            "LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateId": lt,
                                                               "Version": "1"},
                               "Overrides": [{"InstanceType": "t3.large"},
                                             {"InstanceType": "t3a.large"}]},
            "InstancesDistribution": {"OnDemandBaseCapacity": 0,
                                      "OnDemandPercentageAboveBaseCapacity": 0 if spot else 100,
                                      "SpotAllocationStrategy": "price-capacity-optimized"}},
        CapacityRebalance=False, TargetGroupARNs=[tg], HealthCheckType="ELB",
        HealthCheckGracePeriod=300,
        Tags=[{"Key": "Stack", "Value": "s1", "PropagateAtLaunch": True},
              {"Key": "Owner", "Value": "me", "PropagateAtLaunch": False}])
    args.update(sizes or {})
    if hook:
        args["LifecycleHookSpecificationList"] = [{
            "LifecycleHookName": HOOK, "LifecycleTransition": LAUNCHING,
            "HeartbeatTimeout": hook, "DefaultResult": default}]
    asg.create_auto_scaling_group(**args)
    return tg, lt


def members(emu):
    found = emu.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["g"])["AutoScalingGroups"]
    return found[0]["Instances"] if found else []


def states(emu):
    return [(m["InstanceId"], m["LifecycleState"]) for m in members(emu)]


def targets(emu, tg):
    health = emu.client("elbv2").describe_target_health(TargetGroupArn=tg)
    return [t["Target"]["Id"] for t in health["TargetHealthDescriptions"]]


def instance(emu, instance_id):
    return emu.client("ec2").describe_instances(
        InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def activities(emu, **extra):
    return emu.client("autoscaling").describe_scaling_activities(
        AutoScalingGroupName="g", **extra)["Activities"]


def terminating(emu, instance_id):
    return next(a for a in activities(emu)
                if a["Description"] == f"Terminating EC2 instance: {instance_id}")


def complete(emu, result="CONTINUE", **which):
    emu.client("autoscaling").complete_lifecycle_action(
        AutoScalingGroupName="g", LifecycleHookName=HOOK, LifecycleActionResult=result, **which)


def test_what_moto_applies_from_the_template_and_what_the_strict_layer_adds(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        setup(emulator, hook=None)
        (member,) = members(emulator)
        got = instance(emulator, member["InstanceId"])
        tags = {t["Key"]: t["Value"] for t in got["Tags"]}
        user_data = emulator.client("ec2").describe_instance_attribute(
            InstanceId=got["InstanceId"], Attribute="userData")["UserData"]["Value"]
        assert user_data == USER_DATA and got["SecurityGroups"][0]["GroupName"] == "inst"
        assert tags["Stack"] == "s1" and tags["Name"] == "s1-ai-stack" and "Owner" not in tags
        assert tags["aws:autoscaling:groupName"] == "g"
        if strict:
            assert got["IamInstanceProfile"]["Arn"].endswith("/inst"), got.get("IamInstanceProfile")
            assert got["MetadataOptions"]["HttpTokens"] == "required"
            assert got["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
        else:
            assert "IamInstanceProfile" not in got, "moto's group never applies the profile"
            assert got["MetadataOptions"]["HttpTokens"] == "optional", "nor the metadata options"
        assert member["LifecycleState"] == "InService"
        kind, lifecycle = got["InstanceType"], got.get("InstanceLifecycle")
        assert (kind, lifecycle) == (("t3.large", "spot") if strict else ("t3.medium", None))


def test_a_launch_hook_holds_new_instances_out_of_service(emulator):
    emulator.reset(strict=False)
    tg, _ = setup(emulator)
    assert emulator.client("autoscaling").describe_lifecycle_hooks(
        AutoScalingGroupName="g")["LifecycleHooks"] == [], "moto ignores the hook list"
    ((first, state),) = states(emulator)
    assert state == "InService" and targets(emulator, tg) == [first]
    with pytest.raises(Exception):  # not implemented: HTTP 500
        complete(emulator, InstanceId=first)

    emulator.reset(strict=True)
    tg, _ = setup(emulator)
    ((first, state),) = states(emulator)
    assert state == "Pending:Wait" and targets(emulator, tg) == []
    emulator.advance(BOOT / 2)
    complete(emulator, InstanceId=first)
    assert states(emulator) == [(first, "InService")] and targets(emulator, tg) == [first]


def test_abandon_by_token_terminates_and_replaces_in_the_other_zone(emulator):
    emulator.reset(strict=True)
    setup(emulator)
    (first,) = members(emulator)
    _, answer = control(emulator, "/strict-api/autoscaling")
    (action,) = answer["lifecycle_actions"]
    assert action["instance"] == first["InstanceId"]
    assert action["seconds_left"] == pytest.approx(900, abs=1)
    complete(emulator, "ABANDON", LifecycleActionToken=action["token"])
    (second,) = members(emulator)
    assert second["LifecycleState"] == "Pending:Wait"
    assert second["AvailabilityZone"] != first["AvailabilityZone"]
    assert instance(emulator, first["InstanceId"])["State"]["Name"] == "shutting-down"
    launch = next(a for a in activities(emulator) if first["InstanceId"] in a["Description"])
    assert launch["StatusCode"] == "Cancelled" and action["token"] in launch["StatusMessage"]
    assert launch["Description"] == (
        f"Launching a new EC2 instance: {first['InstanceId']}.  Status Reason: "
        "Instance failed to complete user's Lifecycle Action: Lifecycle Action with token "
        f"{action['token']} was abandoned: Lifecycle Action Completed with ABANDON Result")


def test_the_timeout_applies_the_default_result_and_heartbeats_restart_it(emulator):
    emulator.reset(strict=True)
    control(emulator, "/strict-api/instance", {"boot": "hold"})
    setup(emulator, hook=300)
    ((first, _),) = states(emulator)
    emulator.advance(200)
    emulator.client("autoscaling").record_lifecycle_action_heartbeat(
        AutoScalingGroupName="g", LifecycleHookName=HOOK, InstanceId=first)
    emulator.advance(200)
    assert states(emulator) == [(first, "Pending:Wait")], "the heartbeat restarted the timeout"
    emulator.advance(150)
    ((second, state),) = states(emulator)
    assert second != first and state == "Pending:Wait"
    assert "Heartbeat Timeout" in activities(emulator)[-1]["StatusMessage"]

    emulator.reset(strict=True)
    control(emulator, "/strict-api/instance", {"boot": "hold"})
    setup(emulator, hook=300, default="CONTINUE")
    emulator.advance(301)
    assert [s for _, s in states(emulator)] == ["InService"]


def test_complete_lifecycle_action_refuses_what_is_not_waiting(emulator):
    emulator.reset(strict=True)
    setup(emulator)
    ((first, _),) = states(emulator)
    asg = emulator.client("autoscaling")
    for which, text in [({"InstanceId": "i-0123456789abcdef0"}, "instance ID i-0123456789abcdef0"),
                        ({"LifecycleActionToken": "0f0e0d0c-0000-4000-8000-000000000000"}, "token"),
                        ({}, "InstanceId")]:
        with pytest.raises(asg.exceptions.ClientError) as caught:
            complete(emulator, **which)
        assert caught.value.response["Error"]["Code"] == "ValidationError"
        assert text in str(caught.value)
    complete(emulator, InstanceId=first)
    with pytest.raises(asg.exceptions.ClientError) as caught:
        complete(emulator, InstanceId=first)
    assert f"No active Lifecycle Action found with instance ID {first}" in str(caught.value)


def test_a_heartbeat_timeout_outside_30_to_7200_is_refused(run):
    def scenario(emu):
        setup(emu, hook=None, desired=0)
        emu.client("autoscaling").put_lifecycle_hook(
            AutoScalingGroupName="g", LifecycleHookName=HOOK, LifecycleTransition=LAUNCHING,
            HeartbeatTimeout=5, DefaultResult="ABANDON")

    assert "between 30 and 7200" in run.both(scenario, "ValidationError")


def test_an_instance_terminated_from_outside_is_replaced_after_detection(emulator):
    emulator.reset(strict=False)
    tg, _ = setup(emulator, hook=None)
    ((first, _),) = states(emulator)
    emulator.client("ec2").terminate_instances(InstanceIds=[first])
    ((second, state),) = states(emulator)
    assert second != first and state == "InService", "moto replaces within the call"
    assert targets(emulator, tg) == [], "and leaves the replacement out of the target group"

    emulator.reset(strict=True)
    tg, _ = setup(emulator, hook=None)
    (lost,) = members(emulator)
    emulator.client("ec2").terminate_instances(InstanceIds=[lost["InstanceId"]])
    assert states(emulator) == [(lost["InstanceId"], "InService")], "not noticed yet"
    emulator.advance(DETECT)
    (new,) = members(emulator)
    assert new["InstanceId"] != lost["InstanceId"] and new["LifecycleState"] == "InService"
    assert new["AvailabilityZone"] != lost["AvailabilityZone"]
    assert targets(emulator, tg) == [new["InstanceId"]]
    tags = {t["Key"]: t["Value"] for t in instance(emulator, new["InstanceId"])["Tags"]}
    assert tags["Stack"] == "s1" and tags["aws:ec2launchtemplate:version"] == "1"
    terminated = terminating(emulator, lost["InstanceId"])
    assert terminated["StatusCode"] == "InProgress", "until EC2 has terminated it"
    assert terminated["Cause"].endswith(
        "an instance was taken out of service in response to an EC2 health check "
        "indicating it has been terminated or stopped.")


def test_an_instance_set_unhealthy_is_terminated_and_replaced(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        setup(emulator, hook=None)
        ((first, _),) = states(emulator)
        emulator.client("autoscaling").set_instance_health(
            InstanceId=first, HealthStatus="Unhealthy")
        emulator.advance(DETECT)
        if not strict:
            assert [(m["InstanceId"], m["HealthStatus"]) for m in members(emulator)] == [
                (first, "Unhealthy")], "moto never replaces it"
            assert instance(emulator, first)["State"]["Name"] == "running"
            continue
        ((second, state),) = states(emulator)
        assert second != first and state == "InService"
        assert instance(emulator, first)["State"]["Name"] == "shutting-down"
        assert terminating(emulator, first)["Cause"].endswith(
            "an instance was taken out of service in response to a user health-check.")


def test_a_stopped_instance_is_replaced_unless_replacement_is_suspended(emulator):
    emulator.reset(strict=True)
    setup(emulator, hook=None)
    asg, ec2 = emulator.client("autoscaling"), emulator.client("ec2")
    asg.suspend_processes(AutoScalingGroupName="g", ScalingProcesses=["ReplaceUnhealthy"])
    ((first, _),) = states(emulator)
    ec2.stop_instances(InstanceIds=[first])
    emulator.advance(SETTLE)
    assert [(m["InstanceId"], m["HealthStatus"]) for m in members(emulator)] == [
        (first, "Unhealthy")], "marked, not replaced"
    asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["ReplaceUnhealthy"])
    emulator.advance(DETECT)
    ((second, _),) = states(emulator)
    assert second != first and instance(emulator, first)["State"]["Name"] == "shutting-down"


def test_desired_capacity_0_to_1_launches_through_the_hook(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        setup(emulator, desired=0)
        asg = emulator.client("autoscaling")
        asg.put_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName=HOOK,
                               LifecycleTransition=LAUNCHING, HeartbeatTimeout=900)
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=1, MaxSize=1,
                                      DesiredCapacity=1)
        ((_, state),) = states(emulator)
        assert state == ("Pending:Wait" if strict else "InService")
    (launch,) = activities(emulator)
    assert launch["StatusCode"] == "MidLifecycleAction"
    assert "a user request update of AutoScalingGroup constraints to min: 1, max: 1, " \
           "desired: 1 changing the desired capacity from 0 to 1." in launch["Cause"]
    assert launch["Cause"].endswith("increasing the capacity from 0 to 1.")


def test_the_instance_boot_takes_the_stack_address_and_completes_the_hook(emulator):
    emulator.reset(strict=False)
    setup(emulator, eip=True)
    assert not emulator.client("ec2").describe_addresses()["Addresses"][0].get("InstanceId")

    emulator.reset(strict=True)
    tg, _ = setup(emulator, eip=True)
    ((first, _),) = states(emulator)
    emulator.advance(BOOT)
    (address,) = emulator.client("ec2").describe_addresses()["Addresses"]
    assert address["InstanceId"] == first and targets(emulator, tg) == [first]
    assert states(emulator) == [(first, "InService")]
    emulator.client("ec2").terminate_instances(InstanceIds=[first])
    emulator.advance(DETECT)
    ((second, state),) = states(emulator)
    assert state == "Pending:Wait"
    emulator.advance(BOOT)
    (address,) = emulator.client("ec2").describe_addresses()["Addresses"]
    assert address["InstanceId"] == second and targets(emulator, tg) == [second]


@pytest.mark.parametrize("setting", [{"services": {"n8n": {"status": "exited"}}},
                                     {"services": {"postgres": {"health": "unhealthy"}}},
                                     {"ssm": "offline"}, {"boot": "hold"}])
def test_a_boot_that_is_not_healthy_lets_the_hook_time_out(emulator, setting):
    emulator.reset(strict=True)
    assert control(emulator, "/strict-api/instance", {"instance": "*", **setting})[0] == 200
    setup(emulator, hook=120)
    ((first, _),) = states(emulator)
    emulator.advance(BOOT)
    assert states(emulator) == [(first, "Pending:Wait")]
    emulator.advance(BOOT)
    ((second, _),) = states(emulator)
    assert second != first, "the timeout abandoned it (DefaultResult ABANDON)"


def test_a_spot_interruption_ends_with_the_spot_reason_and_is_replaced(emulator):
    emulator.reset(strict=True)
    tg, _ = setup(emulator, hook=None)
    ((first, _),) = states(emulator)
    code, answer = control(emulator, "/strict-api/interrupt", {"instance": first})
    assert code == 200 and answer["state"] == "shutting-down"
    got = instance(emulator, first)
    assert got["StateReason"] == {"Code": "Server.SpotInstanceTermination",
                                  "Message": "Server.SpotInstanceTermination: Spot instance "
                                             "termination"}
    assert got["State"]["Name"] == "shutting-down" and targets(emulator, tg) == []
    emulator.advance(DETECT)
    ((second, state),) = states(emulator)
    assert second != first and state == "InService"
    assert instance(emulator, second)["InstanceLifecycle"] == "spot"
    emulator.advance(BOOT)
    assert instance(emulator, first)["State"]["Name"] == "terminated"
    assert [a["StatusCode"] for a in activities(emulator)] == ["Successful"] * 3


def test_interrupting_what_is_not_a_running_spot_instance_is_refused(emulator):
    emulator.reset(strict=True)
    setup(emulator, hook=None, spot=False)
    ((on_demand, _),) = states(emulator)
    for body in [{"instance": on_demand}, {"instance": "i-0123456789abcdef0"}, {}]:
        code, answer = control(emulator, "/strict-api/interrupt", body)
        assert code == 400 and answer["error"]
    emulator.reset(strict=False)
    assert control(emulator, "/strict-api/interrupt", {"instance": on_demand})[0] == 400


def test_scaling_activities_newest_first_as_aws_words_them(emulator):
    emulator.reset(strict=False)
    setup(emulator, hook=None)
    emulator.client("ec2").terminate_instances(InstanceIds=[states(emulator)[0][0]])
    assert activities(emulator) == [], "moto records none"

    emulator.reset(strict=True)
    setup(emulator, hook=None)
    _, subnets = default_vpc(emulator)
    zones = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
    ((first, _),) = states(emulator)
    emulator.advance(600)
    emulator.client("ec2").terminate_instances(InstanceIds=[first])
    emulator.advance(DETECT)
    ((second, _),) = states(emulator)
    emulator.advance(600)
    asg = emulator.client("autoscaling")
    returned = asg.terminate_instance_in_auto_scaling_group(
        InstanceId=second, ShouldDecrementDesiredCapacity=False)["Activity"]
    assert returned["Cause"].endswith(f"instance {second} was taken out of service in "
                                      "response to a user request.")
    listed = activities(emulator)
    assert [a["Description"].split(":")[0] for a in listed] == [
        "Terminating EC2 instance",  # in progress: listed first
        "Launching a new EC2 instance",
        "Launching a new EC2 instance", "Terminating EC2 instance",
        "Launching a new EC2 instance"]
    assert listed[0]["ActivityId"] == returned["ActivityId"]
    assert listed[0]["StatusCode"] == "InProgress"
    done = listed[2:]
    assert done[0]["StartTime"] > done[-1]["StartTime"]
    assert (done[0]["StartTime"] - done[-1]["StartTime"]).total_seconds() >= 600
    for activity in listed:
        details = json.loads(activity["Details"])
        assert zones[details["Subnet ID"]] == details["Availability Zone"]
        assert activity["AutoScalingGroupName"] == "g" and activity["Cause"].startswith("At 20")
    assert done[-1]["Cause"].startswith("At ") and "a user request created an AutoScalingGroup " \
        "changing the desired capacity from 0 to 1." in done[-1]["Cause"]
    assert all(a["StatusCode"] == "Successful" and a["Progress"] == 100 for a in done)

    asg.delete_auto_scaling_group(AutoScalingGroupName="g", ForceDelete=True)
    assert activities(emulator) == []
    kept = activities(emulator, IncludeDeletedGroups=True)
    assert len(kept) == len(listed) + 1 and kept[0]["Description"].startswith("Terminating")
    assert "a user request deleted the AutoScalingGroup" in kept[0]["Cause"]


def test_an_update_keeps_the_policy_and_instances_report_their_version(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        _, lt = setup(emulator, hook=None)
        emulator.client("ec2").create_launch_template_version(
            LaunchTemplateId=lt, SourceVersion="1",
            LaunchTemplateData={"InstanceType": "t3.xlarge"})
        asg = emulator.client("autoscaling")
        group_now = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
        policy = group_now["MixedInstancesPolicy"]
        policy["LaunchTemplate"]["LaunchTemplateSpecification"] = {
            "LaunchTemplateId": lt, "Version": "2"}
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MixedInstancesPolicy=policy)
        asg.terminate_instance_in_auto_scaling_group(
            InstanceId=members(emulator)[0]["InstanceId"], ShouldDecrementDesiredCapacity=False)
        (member,) = members(emulator)
        assert member["LaunchTemplate"]["Version"] == ("2" if strict else "1")
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=1, MaxSize=1,
                                      DesiredCapacity=1)
        kept = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
        assert ("MixedInstancesPolicy" in kept) is strict, "moto drops it"


def test_resets_clear_the_waiting_actions_and_the_boot_setting_is_checked(emulator):
    emulator.reset(strict=True)
    assert control(emulator, "/strict-api/instance", {"boot": "later"})[0] == 400
    setup(emulator)
    assert len(control(emulator, "/strict-api/autoscaling")[1]["lifecycle_actions"]) == 1
    assert control(emulator, "/strict-api/autoscaling", {"x": 1})[0] == 400
    control(emulator, "/strict-api/reset", {})
    assert control(emulator, "/strict-api/autoscaling")[1] == {"lifecycle_actions": []}
    emulator.reset(strict=True)
    assert activities(emulator) == []


def test_a_group_launches_from_a_version_made_by_create_launch_template_version(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        _, lt = setup(emulator, hook=None)
        ec2 = emulator.client("ec2")
        version = ec2.create_launch_template_version(
            LaunchTemplateId=lt, LaunchTemplateData={"UserData": USER_DATA})[
                "LaunchTemplateVersion"]["VersionNumber"]
        asg = emulator.client("autoscaling")
        asg.update_auto_scaling_group(
            AutoScalingGroupName="g", MinSize=0, MaxSize=1, DesiredCapacity=0)
        spec = {"LaunchTemplateId": lt, "Version": str(version)}
        if strict:
            asg.update_auto_scaling_group(
                AutoScalingGroupName="g", MinSize=1, MaxSize=1, DesiredCapacity=1,
                LaunchTemplate=spec)
            emulator.advance(200)
            assert len(members(emulator)) == 1
        else:
            with pytest.raises(Exception):
                asg.update_auto_scaling_group(
                    AutoScalingGroupName="g", MinSize=1, MaxSize=1, DesiredCapacity=1,
                    LaunchTemplate=spec)


def test_terminating_an_instance_no_group_holds_is_a_validation_error(emulator):
    """A retry of TerminateInstanceInAutoScalingGroup after its answer was
    lost: moto crashes (500), AWS answers ValidationError."""
    codes = []
    for strict in (False, True):
        emulator.reset(strict=strict)
        setup(emulator, hook=None)
        ((first, _),) = states(emulator)
        asg = emulator.client("autoscaling")
        asg.terminate_instance_in_auto_scaling_group(
            InstanceId=first, ShouldDecrementDesiredCapacity=True)
        with pytest.raises(Exception) as caught:
            asg.terminate_instance_in_auto_scaling_group(
                InstanceId=first, ShouldDecrementDesiredCapacity=True)
        error = getattr(caught.value, "response", {}).get("Error", {})
        codes.append((error.get("Code") or type(caught.value).__name__,
                      error.get("Message", "")))
    assert codes[0][0] != "ValidationError", codes
    assert codes[1][0] == "ValidationError", codes
    assert "No managed instance found for instance ID" in codes[1][1], codes


def sizes(emu):
    found = emu.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]
    return found["MinSize"], found["MaxSize"], found["DesiredCapacity"]


@pytest.mark.parametrize("asked, message", [
    ({"MinSize": 1, "MaxSize": 1, "DesiredCapacity": 2},
     "Desired capacity:2 must be between the specified min size:1 and max size:1"),
    ({"MinSize": 1, "MaxSize": 2, "DesiredCapacity": 0},
     "Desired capacity:0 must be between the specified min size:1 and max size:2"),
    ({"MinSize": 2, "MaxSize": 1, "DesiredCapacity": 1},
     "Max bound, 1, must be greater than or equal to min bound, 2"),
    ({"MinSize": 2, "MaxSize": 1}, "Max bound, 1, must be greater than or equal to min bound, 2"),
])
def test_a_group_created_with_inconsistent_sizes_is_refused(run, asked, message):
    def scenario(emu):
        setup(emu, hook=None, sizes=asked)

    assert message in run.both(scenario, "ValidationError")


@pytest.mark.parametrize("asked, message", [
    ({"DesiredCapacity": 2},  # over the group's max of 1
     "Desired capacity:2 must be between the specified min size:1 and max size:1"),
    ({"DesiredCapacity": 0},  # under the group's min of 1
     "Desired capacity:0 must be between the specified min size:1 and max size:1"),
    ({"MinSize": 2}, "Max bound, 1, must be greater than or equal to min bound, 2"),
    ({"MaxSize": 0}, "Max bound, 0, must be greater than or equal to min bound, 1"),
    ({"MinSize": 0, "MaxSize": 2, "DesiredCapacity": 3},
     "Desired capacity:3 must be between the specified min size:0 and max size:2"),
])
def test_an_update_to_inconsistent_sizes_is_refused_against_the_groups_own(run, asked, message):
    """What the update leaves out keeps the group's value (1, 1, 1 here)."""
    def scenario(emu):
        setup(emu, hook=None)
        emu.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="g", **asked)

    assert message in run.both(scenario, "ValidationError")
    assert sizes(run.emu) == (1, 1, 1), "refused: nothing changed"


def test_an_update_without_desired_capacity_moves_it_to_the_new_bound(emulator):
    """AWS: a new MinSize above the group's size, or MaxSize below it, without a
    DesiredCapacity sets the desired capacity to it; not refused."""
    for strict in (False, True):
        emulator.reset(strict=strict)
        setup(emulator, hook=None, sizes={"MinSize": 0, "MaxSize": 2, "DesiredCapacity": 2})
        asg = emulator.client("autoscaling")
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MaxSize=1)
        assert sizes(emulator) == (0, 1, 1)
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=0, MaxSize=3)
        assert sizes(emulator) == (0, 3, 1), "within the bounds: kept"
        asg.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=2)
        assert sizes(emulator) == (2, 3, 2)
        asg.update_auto_scaling_group(AutoScalingGroupName="g", HealthCheckGracePeriod=60)
        assert sizes(emulator) == (2, 3, 2)

    # The desired capacity follows, not the instance count (moto's test): a
    # group that could launch nothing still ends within its new bounds.
    emulator.reset(strict=True)
    control(emulator, "/strict-api/spot-capacity", {"available": False})
    setup(emulator, hook=None)
    assert members(emulator) == []
    emulator.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName="g", MinSize=0, MaxSize=0)
    assert sizes(emulator) == (0, 0, 0)


def test_the_size_bounds_bind_the_api_not_the_emulators_own_calls(emulator):
    from moto.autoscaling.models import autoscaling_backends

    emulator.reset(strict=True)
    setup(emulator, hook=None)
    backend = autoscaling_backends["123456789012"]["us-east-1"]
    backend.update_auto_scaling_group(
        name="g", availability_zones=[], desired_capacity=0, max_size=None, min_size=None,
        launch_config_name=None, launch_template={}, vpc_zone_identifier=None,
        health_check_period=None, health_check_type=None)
    assert sizes(emulator) == (1, 1, 0)
