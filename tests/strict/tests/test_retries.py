"""A call repeated after its answer was lost (the fault injector's "lost"
kind): the second, identical call gets AWS's answer."""

import pytest

from helpers import SETTLE, default_vpc, group, launch


def _code(err) -> str:
    return getattr(err, "response", {}).get("Error", {}).get("Code") or type(err).__name__


# --- ELBv2 DeleteRule ----------------------------------------------------------


def _listener_rule(emu):
    elb = emu.client("elbv2")
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "alb", vpc)
    emu.advance(SETTLE)
    lb = elb.create_load_balancer(Name="lb", Subnets=[s["SubnetId"] for s in subnets[:2]],
                                  SecurityGroups=[sg])["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elb.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)[
        "TargetGroups"][0]["TargetGroupArn"]
    emu.advance(SETTLE)
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                   DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    return elb.create_rule(ListenerArn=listener, Priority=1, Actions=forward, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}])["Rules"][0]["RuleArn"]


def test_deleting_a_deleted_listener_rule_is_rule_not_found(run):
    """moto answers success for any rule ARN; AWS documents RuleNotFound."""

    def scenario(emu):
        arn = _listener_rule(emu)
        emu.client("elbv2").delete_rule(RuleArn=arn)
        emu.client("elbv2").delete_rule(RuleArn=arn)

    run.both(scenario, "RuleNotFound")


# --- EC2 DisassociateAddress ---------------------------------------------------


def _associated(emu):
    ec2 = emu.client("ec2")
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "x", vpc)
    instance = launch(emu, [sg], subnets[0]["SubnetId"])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    emu.advance(SETTLE)
    return ec2.associate_address(AllocationId=allocation, InstanceId=instance)["AssociationId"]


def test_disassociating_an_address_again_succeeds(emulator):
    """AWS: an idempotent operation, no error the second time; moto answers
    InvalidAssociationID.NotFound."""
    codes = []
    for strict in (False, True):
        emulator.reset(strict=strict)
        association = _associated(emulator)
        ec2 = emulator.client("ec2")
        ec2.disassociate_address(AssociationId=association)
        try:
            ec2.disassociate_address(AssociationId=association)
            codes.append("ok")
        except Exception as e:  # noqa: BLE001
            codes.append(_code(e))
    assert codes == ["InvalidAssociationID.NotFound", "ok"], codes
    # An association that never was is still unknown.
    with pytest.raises(Exception) as caught:
        ec2.disassociate_address(AssociationId="eipassoc-0123456789abcdef0")
    assert _code(caught.value) == "InvalidAssociationID.NotFound"


# --- EC2 RevokeSecurityGroupIngress ------------------------------------------

SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
       "IpRanges": [{"CidrIp": "198.51.100.7/32"}]}
HTTP = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
        "IpRanges": [{"CidrIp": "198.51.100.7/32"}]}


def _ingress(emu, sg):
    return emu.client("ec2").describe_security_groups(GroupIds=[sg])[
        "SecurityGroups"][0]["IpPermissions"]


def test_revoking_a_revoked_rule_in_a_default_vpc_succeeds(emulator):
    """AWS, default VPC: no error, the rules not revoked in
    UnknownIpPermissions; moto answers InvalidPermission.NotFound."""
    answers = []
    for strict in (False, True):
        emulator.reset(strict=strict)
        vpc, _ = default_vpc(emulator)
        sg = group(emulator, "x", vpc)
        emulator.advance(SETTLE)
        ec2 = emulator.client("ec2")
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[SSH, HTTP])
        ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[SSH])
        try:
            answer = ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[SSH, HTTP])
            answers.append(answer.get("UnknownIpPermissions"))
        except Exception as e:  # noqa: BLE001
            answers.append(_code(e))
    assert answers[0] == "InvalidPermission.NotFound", answers
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in answers[1]] == [
        (22, "198.51.100.7/32")], answers
    assert _ingress(emulator, sg) == []  # the known one (80) was revoked


def test_revoking_with_an_unknown_rule_elsewhere_revokes_nothing(emulator):
    """AWS, non-default VPC: InvalidPermission.NotFound and no rules revoked;
    moto revokes those before the unknown one."""
    left = []
    for strict in (False, True):
        emulator.reset(strict=strict)
        ec2 = emulator.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        emulator.advance(SETTLE)
        sg = group(emulator, "x", vpc)
        emulator.advance(SETTLE)
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[HTTP])
        with pytest.raises(Exception) as caught:
            ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[HTTP, SSH])
        assert _code(caught.value) == "InvalidPermission.NotFound"
        left.append([p["FromPort"] for p in _ingress(emulator, sg)])
    assert left == [[], [80]], left


# --- EC2 TerminateInstances ----------------------------------------------------


def test_terminating_again_changes_nothing(emulator):
    """AWS: idempotent, each call succeeds. moto answers a terminated
    instance as shutting-down; without the rule the strict layer's repeat
    ended the modelled shutdown at once."""
    for strict in (False, True):
        emulator.reset(strict=strict)
        vpc, subnets = default_vpc(emulator)
        instance = launch(emulator, [group(emulator, "x", vpc)], subnets[0]["SubnetId"])
        emulator.advance(SETTLE)
        ec2 = emulator.client("ec2")

        def terminate():
            change = ec2.terminate_instances(InstanceIds=[instance])["TerminatingInstances"][0]
            return change["PreviousState"]["Name"], change["CurrentState"]["Name"]

        def state():
            return ec2.describe_instances(InstanceIds=[instance])[
                "Reservations"][0]["Instances"][0]["State"]["Name"]

        assert terminate() == ("running", "shutting-down")
        if strict:
            assert terminate() == ("shutting-down", "shutting-down")
            assert state() == "shutting-down"
            emulator.advance(SETTLE)
            assert state() == "terminated"
            assert terminate() == ("terminated", "terminated")
        else:
            assert terminate() == ("terminated", "shutting-down")  # not what AWS answers
        assert state() == "terminated"
