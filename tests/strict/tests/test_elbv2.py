"""ELBv2 rules."""

from helpers import SETTLE, default_vpc, group


def _lb(emu, subnets, name="lb"):
    vpc, _ = default_vpc(emu)
    sg = group(emu, "alb", vpc)
    emu.advance(SETTLE)
    arn = emu.client("elbv2").create_load_balancer(
        Name=name, Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]["LoadBalancerArn"]
    return arn, sg


def test_one_zone_is_refused(run):
    def scenario(emu):
        _, subnets = default_vpc(emu)
        _lb(emu, [subnets[0]["SubnetId"]])

    assert "two different Availability Zones" in run.both(scenario, "ValidationError")


def test_load_balancer_names_over_32_characters_are_refused(run):
    def scenario(emu):
        _, subnets = default_vpc(emu)
        _lb(emu, [s["SubnetId"] for s in subnets[:2]], name="l" * 33)

    run.both(scenario, "ValidationError")


def test_target_group_names_over_32_moto_refuses_itself(emulator):
    emulator.reset(strict=False)
    vpc, _ = default_vpc(emulator)
    elb = emulator.client("elbv2")
    try:
        elb.create_target_group(Name="t" * 33, Protocol="HTTP", Port=80, VpcId=vpc)
        raise AssertionError("moto accepted a 33-character target group name")
    except elb.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationError"


def test_a_deleted_load_balancer_keeps_its_group_in_use(run, emulator):
    def scenario(emu):
        _, subnets = default_vpc(emu)
        arn, sg = _lb(emu, [s["SubnetId"] for s in subnets[:2]])
        emu.advance(SETTLE)
        emu.client("elbv2").delete_load_balancer(LoadBalancerArn=arn)
        emu.client("ec2").delete_security_group(GroupId=sg)

    assert "ELB interface" in run.both(scenario, "DependencyViolation")
    emulator.advance(121)
    vpc, _ = default_vpc(emulator)
    sg = emulator.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["alb"]}])["SecurityGroups"][0]["GroupId"]
    emulator.client("ec2").delete_security_group(GroupId=sg)
