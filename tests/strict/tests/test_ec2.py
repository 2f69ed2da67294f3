"""EC2 rules: each scenario is accepted by plain moto and refused (or changed)
by the strict layer."""

from helpers import SETTLE, default_vpc, group, launch, profile, user_data


def test_a_group_referenced_by_another_cannot_be_deleted(run):
    def scenario(emu):
        vpc, _ = default_vpc(emu)
        inst, efs = group(emu, "inst", vpc), group(emu, "efs", vpc)
        emu.advance(SETTLE)
        emu.client("ec2").authorize_security_group_ingress(
            GroupId=efs, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049,
                                         "UserIdGroupPairs": [{"GroupId": inst}]}])
        emu.client("ec2").delete_security_group(GroupId=inst)

    assert "referenced by" in run.both(scenario, "DependencyViolation")


def test_a_group_in_use_by_a_shutting_down_instance_cannot_be_deleted(run):
    def scenario(emu):
        vpc, subnets = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        instance = launch(emu, [sg], subnets[0]["SubnetId"])
        emu.advance(SETTLE)
        emu.client("ec2").terminate_instances(InstanceIds=[instance])
        emu.client("ec2").delete_security_group(GroupId=sg)

    assert "shutting-down" in run.both(scenario, "DependencyViolation")


def test_the_group_frees_once_the_instance_is_terminated(run, emulator):
    emulator.reset(strict=True)
    vpc, subnets = default_vpc(emulator)
    sg = group(emulator, "inst", vpc)
    emulator.advance(SETTLE)
    ec2 = emulator.client("ec2")
    instance = launch(emulator, [sg], subnets[0]["SubnetId"])
    emulator.advance(SETTLE)
    ec2.terminate_instances(InstanceIds=[instance])
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "shutting-down"
    emulator.advance(SETTLE)
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"
    ec2.delete_security_group(GroupId=sg)


def test_a_root_mapping_smaller_than_the_snapshot_is_refused(run):
    def scenario(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        launch(emu, [sg], BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 4, "VolumeType": "gp3"}}])

    assert "smaller than snapshot" in run.both(scenario, "InvalidBlockDeviceMapping")


def test_the_gpu_ami_is_published_and_its_root_is_larger_than_30_gb(run, emulator):
    param = ("/aws/service/deeplearning/ami/x86_64/"
             "base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id")

    def scenario(emu):
        ami = emu.client("ssm").get_parameter(Name=param)["Parameter"]["Value"]
        image = emu.client("ec2").describe_images(ImageIds=[ami])["Images"][0]
        root = image["BlockDeviceMappings"][0]
        assert image["RootDeviceName"] == root["DeviceName"] == "/dev/xvda"
        assert root["Ebs"]["VolumeSize"] > 30
        vpc, _ = default_vpc(emu)
        sg = group(emu, "gpu", vpc)
        emu.advance(SETTLE)
        emu.client("ec2").run_instances(
            ImageId=ami, MinCount=1, MaxCount=1, InstanceType="g4dn.xlarge",
            SecurityGroupIds=[sg], BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30}}])

    run.strict_refuses(scenario, "InvalidBlockDeviceMapping")
    emulator.reset(strict=False)
    try:
        emulator.client("ssm").get_parameter(Name=param)
        raise AssertionError("moto alone publishes the GPU AMI parameter")
    except emulator.client("ssm").exceptions.ParameterNotFound:
        pass


def test_a_new_instance_profile_is_not_usable_at_once(run):
    def scenario(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        arn = profile(emu, "p")
        launch(emu, [sg], IamInstanceProfile={"Arn": arn})

    assert "Invalid IAM Instance Profile" in run.both(scenario, "InvalidParameterValue")


def test_an_instance_profile_is_usable_after_it_propagates(emulator):
    emulator.reset(strict=True)
    vpc, _ = default_vpc(emulator)
    sg = group(emulator, "inst", vpc)
    arn = profile(emulator, "p")
    emulator.advance(61)
    launch(emulator, [sg], IamInstanceProfile={"Arn": arn})


def test_user_data_over_16_kb_is_refused(run):
    def scenario(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        launch(emu, [sg], UserData=user_data(16 * 1024 + 1))

    run.both(scenario, "InvalidParameterValue")


def test_a_client_token_makes_run_instances_idempotent(run, emulator):
    def count(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        first = launch(emu, [sg], ClientToken="once")
        second = launch(emu, [sg], ClientToken="once")
        return first, second

    emulator.reset(strict=False)
    first, second = count(emulator)
    assert first != second, "moto alone launches twice"
    emulator.reset(strict=True)
    first, second = count(emulator)
    assert first == second


def test_subnet_vpc_and_gateway_teardown_wait_for_interfaces(run):
    def delete_subnet(emu):
        vpc, subnets = default_vpc(emu)
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        subnet = subnets[0]["SubnetId"]
        instance = launch(emu, [sg], subnet)
        emu.advance(SETTLE)
        emu.client("ec2").terminate_instances(InstanceIds=[instance])
        emu.client("ec2").delete_subnet(SubnetId=subnet)

    assert "shutting-down" in run.both(delete_subnet, "DependencyViolation")

    def detach(emu):
        ec2 = emu.client("ec2")
        vpc, subnets = default_vpc(emu)
        igw = ec2.create_internet_gateway()["InternetGateway"]
        sg = group(emu, "inst", vpc)
        emu.advance(SETTLE)
        ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc)
        instance = launch(emu, [sg], subnets[0]["SubnetId"])
        emu.advance(SETTLE)
        ec2.terminate_instances(InstanceIds=[instance])
        ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc)

    assert "mapped public address" in run.both(detach, "DependencyViolation")


def test_group_descriptions_are_ascii_and_at_most_255(run):
    def long(emu):
        vpc, _ = default_vpc(emu)
        emu.client("ec2").create_security_group(GroupName="g", Description="d" * 256, VpcId=vpc)

    def accented(emu):
        vpc, _ = default_vpc(emu)
        emu.client("ec2").create_security_group(GroupName="g", Description="café", VpcId=vpc)

    run.both(long, "InvalidParameterValue")
    run.both(accented, "InvalidParameterValue")


def test_tag_keys_and_values_have_limits(run):
    def key(emu):
        vpc, _ = default_vpc(emu)
        emu.client("ec2").create_security_group(
            GroupName="g", Description="g", VpcId=vpc, TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [{"Key": "k" * 129, "Value": "v"}]}])

    def value(emu):
        vpc, _ = default_vpc(emu)
        sg = group(emu, "g", vpc)
        emu.client("ec2").create_tags(Resources=[sg], Tags=[{"Key": "k", "Value": "v" * 257}])

    run.both(key, "InvalidParameterValue")
    run.both(value, "InvalidParameterValue")
