"""Eventual consistency: right after a create, follow-up calls see NotFound
and filtered describes miss the new resource; plain moto sees it at once."""

import pytest

from helpers import default_vpc, group

POLICY = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
          '"Action": "s3:ListBucket", "Resource": "*"}]}')


def test_authorize_right_after_create_group(run):
    def scenario(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "g", vpc)
        emu.client("ec2").authorize_security_group_ingress(
            GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                        "IpRanges": [{"CidrIp": "198.51.100.7/32"}]}])

    run.both(scenario, "InvalidGroup.NotFound")


def test_a_filtered_describe_misses_a_new_group_then_finds_it(emulator):
    for strict, expected in [(False, 1), (True, 0)]:
        emulator.reset(strict=strict)
        vpc, _ = default_vpc(emulator)
        group(emulator, "g", vpc)
        found = emulator.client("ec2").describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["g"]}])["SecurityGroups"]
        assert len(found) == expected
    emulator.advance(11)
    found = emulator.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["g"]}])["SecurityGroups"]
    assert len(found) == 1


def test_attach_right_after_create_internet_gateway(run):
    def scenario(emu):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        emu.advance(11)
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    run.both(scenario, "InvalidInternetGatewayID.NotFound")


def test_route_right_after_create_route_table(run):
    def scenario(emu):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        emu.advance(11)
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    run.both(scenario, "InvalidRouteTableID.NotFound")


def test_modify_right_after_create_subnet(run):
    def scenario(emu):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        emu.advance(11)
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})

    run.both(scenario, "InvalidSubnetID.NotFound")


@pytest.mark.parametrize("follow", ["attach_role_policy", "add_role_to_instance_profile"])
def test_role_then_policy_and_profile(run, follow):
    def scenario(emu):
        iam = emu.client("iam")
        policy = iam.create_policy(PolicyName="p", PolicyDocument=POLICY)["Policy"]["Arn"]
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        if follow == "attach_role_policy":
            iam.attach_role_policy(RoleName="r", PolicyArn=policy)
        else:
            iam.create_instance_profile(InstanceProfileName="r")
            iam.add_role_to_instance_profile(InstanceProfileName="r", RoleName="r")

    run.both(scenario, "NoSuchEntity")


def test_describe_an_instance_right_after_run(run):
    from helpers import SETTLE, launch

    def scenario(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "g", vpc)
        emu.advance(SETTLE)
        instance = launch(emu, [sg])
        emu.client("ec2").describe_instances(InstanceIds=[instance])

    run.both(scenario, "InvalidInstanceID.NotFound")


def test_listener_right_after_create_load_balancer(run):
    from helpers import SETTLE

    def scenario(emu):
        vpc, subnets = default_vpc(emu)
        sg = group(emu, "g", vpc)
        elb = emu.client("elbv2")
        emu.advance(SETTLE)
        lb = elb.create_load_balancer(Name="lb", Subnets=[s["SubnetId"] for s in subnets[:2]],
                                      SecurityGroups=[sg])["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elb.create_target_group(Name="tg", Protocol="HTTP", Port=5678, VpcId=vpc,
                                     TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])

    run.both(scenario, "LoadBalancerNotFound")
