"""IAM DeleteRole (moto already enforces it: this test keeps it so), and what
moto lacks that the product calls."""

import pytest

POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}'


def test_a_role_with_a_policy_or_in_a_profile_cannot_be_deleted(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        iam = emulator.client("iam")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=POLICY)
        emulator.advance(11)
        iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=POLICY)
        with pytest.raises(iam.exceptions.DeleteConflictException):
            iam.delete_role(RoleName="r")
        iam.delete_role_policy(RoleName="r", PolicyName="p")
        iam.create_instance_profile(InstanceProfileName="r")
        emulator.advance(11)
        iam.add_role_to_instance_profile(InstanceProfileName="r", RoleName="r")
        with pytest.raises(iam.exceptions.DeleteConflictException):
            iam.delete_role(RoleName="r")


def test_ec2_service_quotas_are_answered(run, emulator):
    def scenario(emu):
        q = emu.client("service-quotas").get_service_quota(ServiceCode="ec2",
                                                           QuotaCode="L-34B43A08")
        assert q["Quota"]["Value"] == 32.0
        raise RuntimeError("answered")

    emulator.reset(strict=False)
    with pytest.raises(Exception) as caught:
        scenario(emulator)
    assert "NoSuchResource" in str(caught.value)
    emulator.reset(strict=True)
    with pytest.raises(RuntimeError):
        scenario(emulator)


def test_removing_a_role_the_profile_does_not_hold_is_no_such_entity(emulator):
    """A removal retried after its answer was lost: moto crashes (500), AWS
    says NoSuchEntity, which a destroy takes as already done."""

    def remove_twice(emu):
        iam = emu.client("iam")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=POLICY)
        iam.create_instance_profile(InstanceProfileName="p")
        emu.advance(11)
        iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")
        iam.remove_role_from_instance_profile(InstanceProfileName="p", RoleName="r")
        iam.remove_role_from_instance_profile(InstanceProfileName="p", RoleName="r")

    codes = []
    for strict in (False, True):
        emulator.reset(strict=strict)
        with pytest.raises(Exception) as caught:
            remove_twice(emulator)
        error = getattr(caught.value, "response", {}).get("Error", {})
        codes.append(error.get("Code") or type(caught.value).__name__)
    # moto alone: an HTML 500 that boto3 cannot even parse as an AWS error.
    assert codes[0] != "NoSuchEntity", codes
    assert codes[1] == "NoSuchEntity", codes
