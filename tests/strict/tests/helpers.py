"""Small scenario steps shared by the rule tests."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
SETTLE = 3600.0  # realistic seconds: past every modelled delay


def default_vpc(emu) -> tuple[str, list[dict]]:
    ec2 = emu.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    return vpc["VpcId"], sorted(subnets, key=lambda s: s["AvailabilityZone"])


def group(emu, name: str, vpc: str) -> str:
    return emu.client("ec2").create_security_group(
        GroupName=name, Description=name, VpcId=vpc)["GroupId"]


def al2023(emu) -> str:
    return emu.client("ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]


def launch(emu, groups: list[str], subnet: str | None = None, **extra) -> str:
    args = dict(ImageId=al2023(emu), MinCount=1, MaxCount=1, InstanceType="t3.medium",
                SecurityGroupIds=groups)
    if subnet:
        args["SubnetId"] = subnet
    args.update(extra)
    return emu.client("ec2").run_instances(**args)["Instances"][0]["InstanceId"]


def profile(emu, name: str) -> str:
    iam = emu.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    return iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]


def user_data(size: int) -> str:
    return base64.b64encode(b"#" * size).decode()


def control(emu, path: str, body: dict | None = None) -> tuple[int, dict]:
    """A strict-api call: GET without a body, POST with one; (status, JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{emu.url}{path}", data=data,
                                     method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return 200, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
