"""IAM SimulatePrincipalPolicy: moto does not implement it (500); the strict
layer evaluates the principal's own policies (see strict/iam_simulate.py)."""

import json

import pytest

ACCOUNT = "123456789012"


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def decisions(iam, arn: str, actions: list[str], resources=None) -> dict[tuple[str, str], str]:
    args = dict(PolicySourceArn=arn, ActionNames=actions)
    if resources:
        args["ResourceArns"] = resources
    results = iam.simulate_principal_policy(**args)["EvaluationResults"]
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}


def a_user_with_a_group(iam) -> str:
    """User "deployer": a managed policy (ec2:Run* and Describe*), an inline
    Deny of TerminateInstances, and a group allowing PassRole on stack roles."""
    arn = iam.create_user(UserName="deployer")["User"]["Arn"]
    managed = iam.create_policy(PolicyName="ec2", PolicyDocument=doc(
        allow(["ec2:Run*", "ec2:Describe*"])))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="deployer", PolicyArn=managed)
    iam.put_user_policy(UserName="deployer", PolicyName="no-terminate", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*"},
        allow("ec2:TerminateInstances")))
    iam.create_group(GroupName="stacks")
    iam.put_group_policy(GroupName="stacks", PolicyName="pass", PolicyDocument=doc(
        allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*-geusemaker")))
    iam.add_user_to_group(GroupName="stacks", UserName="deployer")
    return arn


def test_moto_alone_cannot_simulate(emulator):
    emulator.reset(strict=False)
    iam = emulator.client("iam")
    arn = a_user_with_a_group(iam)
    with pytest.raises(Exception) as caught:
        iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["ec2:RunInstances"])
    assert "500" in str(caught.value) or "InternalError" in str(caught.value), caught.value


def test_a_users_own_and_group_policies_decide(emulator):
    emulator.reset(strict=True)
    iam = emulator.client("iam")
    arn = a_user_with_a_group(iam)
    got = decisions(iam, arn, ["ec2:RunInstances", "EC2:describevpcs",
                               "ec2:TerminateInstances", "ec2:CreateVpc"])
    assert got == {
        ("ec2:RunInstances", "*"): "allowed",
        ("EC2:describevpcs", "*"): "allowed",  # actions match case-insensitively
        ("ec2:TerminateInstances", "*"): "explicitDeny",  # Deny wins over Allow
        ("ec2:CreateVpc", "*"): "implicitDeny",
    }
    ours = f"arn:aws:iam::{ACCOUNT}:role/demo-geusemaker"
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"
    assert decisions(iam, arn, ["iam:PassRole"], [ours, other]) == {
        ("iam:PassRole", ours): "allowed",
        ("iam:PassRole", other): "implicitDeny",
    }


def test_the_answer_names_the_deciding_policy_and_pages(emulator):
    emulator.reset(strict=True)
    iam = emulator.client("iam")
    arn = a_user_with_a_group(iam)
    actions = ["ec2:RunInstances", "ec2:TerminateInstances", "s3:ListBucket"]
    first = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    matched = first["EvaluationResults"][1]["MatchedStatements"]
    assert matched == [{"SourcePolicyId": "no-terminate", "SourcePolicyType": "user"}]
    rest = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions,
                                         Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert [r["EvalDecision"] for r in rest["EvaluationResults"]] == ["implicitDeny"]


def test_a_role_with_a_path_and_motos_sts_user_arn(emulator):
    emulator.reset(strict=True)
    iam = emulator.client("iam")
    role = iam.create_role(RoleName="ops", Path="/team/", AssumeRolePolicyDocument="{}")
    emulator.advance(11)  # a new role is not visible at once (strict/consistency.py)
    iam.put_role_policy(RoleName="ops", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    arn = role["Role"]["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/team/ops"
    assert decisions(iam, arn, ["ec2:RunInstances", "iam:CreateRole"]) == {
        ("ec2:RunInstances", "*"): "allowed",
        ("iam:CreateRole", "*"): "implicitDeny",
    }
    iam.create_user(UserName="moto")
    sts_arn = emulator.client("sts").get_caller_identity()["Arn"]
    assert sts_arn == f"arn:aws:sts::{ACCOUNT}:user/moto"
    assert decisions(iam, sts_arn, ["ec2:RunInstances"]) == {
        ("ec2:RunInstances", "*"): "implicitDeny"}


def test_an_unknown_principal_is_no_such_entity(emulator):
    emulator.reset(strict=True)
    iam = emulator.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/nobody",
                                      ActionNames=["ec2:RunInstances"])
    with pytest.raises(iam.exceptions.InvalidInputException):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:root",
                                      ActionNames=["ec2:RunInstances"])
