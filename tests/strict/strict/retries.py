"""A call repeated after its answer was lost. The fault injector makes a call
take effect and answers 500, so the SDK sends the same call again; these
rules give that second call AWS's answer where moto gives another (or, under
the strict layer, where the repeat changed state an idempotent call leaves
alone)."""

from __future__ import annotations

import copy
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidPermissionNotFoundError
from moto.ec2.models import EC2Backend
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.responses.security_groups import SecurityGroups
from moto.elbv2.exceptions import RuleNotFoundError
from moto.elbv2.models import ELBv2Backend, elbv2_backends

from . import core
from .core import patch, rule

DELETE_RULE_ABSENT = rule(
    "elbv2.delete-rule-not-found",
    "DeleteRule of a rule that does not exist (already deleted) answers RuleNotFound "
    "(moto answers success)",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteRule.html",
)
DISASSOCIATE_AGAIN = rule(
    "ec2.disassociate-address-idempotent",
    "DisassociateAddress is idempotent: repeating a disassociation that took effect "
    "succeeds (moto answers InvalidAssociationID.NotFound)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisassociateAddress.html",
)
REVOKE_UNKNOWN = rule(
    "ec2.revoke-unknown-rule",
    "RevokeSecurityGroupIngress of rules a group does not have: in a default VPC it "
    "succeeds and lists them in UnknownIpPermissions (moto answers "
    "InvalidPermission.NotFound); in another VPC it answers InvalidPermission.NotFound "
    "and revokes none of the request's rules (moto keeps those before the unknown one "
    "revoked)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupIngress.html",
)
TERMINATE_AGAIN = rule(
    "ec2.terminate-idempotent",
    "TerminateInstances of an instance already shutting-down or terminated succeeds and "
    "changes nothing: it does not cut the shutdown short, and answers the instance's "
    "state as previous and current (moto answers a terminated one as shutting-down)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html",
)


# --- ELBv2 DeleteRule ----------------------------------------------------------


@patch(ELBv2Backend, "delete_rule")
def _delete_rule(original, self, arn):
    known = any(r.arn == arn for lb in self.load_balancers.values()
                for listener in lb.listeners.values() for r in listener.rules.values())
    if not known:
        raise RuleNotFoundError()
    return original(self, arn)


# --- EC2 DisassociateAddress ---------------------------------------------------

# Association ids a DisassociateAddress ended: a repeat of the call succeeds.
_ended: set[tuple[str, str, str]] = set()
core.on_reset(_ended.clear)


@patch(EC2Backend, "disassociate_address")
def _disassociate_address(original, self, address=None, association_id=None):
    key = (self.account_id, self.region_name, association_id or "")
    if (association_id and not address and key in _ended
            and not any(a.association_id == association_id for a in self.addresses)):
        return None
    result = original(self, address=address, association_id=association_id)
    if association_id and not address:
        _ended.add(key)
    return result


# --- EC2 RevokeSecurityGroupIngress ------------------------------------------


def _pieces(permission: dict[str, Any]) -> list[dict[str, Any]]:
    """One asked permission as single-source permissions (the unit EC2 matches
    and reports as unknown)."""
    base = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
    sources = [(key, item) for key in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs",
                                       "PrefixListIds")
               for item in permission.get(key) or []]
    if not sources:
        return [dict(base)]
    return [{**base, key: [item]} for key, item in sources]


def _piece_args(response: SecurityGroups, group_id: str, piece: dict[str, Any]) -> dict:
    ip_ranges = list(piece.get("IpRanges", [])) + list(piece.get("Ipv6Ranges", []))
    return {
        "group_name_or_id": group_id,
        "ip_protocol": piece.get("IpProtocol"),
        "from_port": piece.get("FromPort"),
        "to_port": piece.get("ToPort"),
        "ip_ranges": ip_ranges,
        "source_groups": piece.get("UserIdGroupPairs", []),
        "prefix_list_ids": piece.get("PrefixListIds", []),
        "security_rule_ids": [],
    }


@patch(SecurityGroups, "revoke_security_group_ingress")
def _revoke_ingress(original, self):
    backend = self.ec2_backend
    asked = self._get_param("GroupId") or self._get_param("GroupName")
    permissions = self._get_param("IpPermissions", [])
    group = backend.get_security_group_by_name_or_id(asked) if asked else None
    if (group is None or self._get_param("DryRun") or not permissions
            or self._get_param("SecurityGroupRuleIds")):
        return original(self)
    vpc = backend.vpcs.get(group.vpc_id) if group.vpc_id else None
    if vpc is None or not vpc.is_default:
        # Not a default VPC: an unknown rule refuses the whole request.
        before = list(group.ingress_rules)
        try:
            return original(self)
        except InvalidPermissionNotFoundError:
            group.ingress_rules = before
            raise
    unknown = []
    for permission in permissions:
        for piece in _pieces(permission):
            try:
                backend.revoke_security_group_ingress(**_piece_args(self, group.id, piece))
            except InvalidPermissionNotFoundError:
                unknown.append(piece)
    result: dict[str, Any] = {"Return": True}
    if unknown:
        result["UnknownIpPermissions"] = unknown
    return ActionResult(result)


# --- EC2 TerminateInstances ----------------------------------------------------

_DONE = ("shutting-down", "terminated")


@patch(InstanceResponse, "terminate_instances")
def _terminate_instances(original, self):
    instance_ids = self._get_param("InstanceIds", [])
    if self._get_param("DryRun") or not instance_ids:
        return original(self)
    instances = self.ec2_backend.get_multi_instances_by_id(instance_ids)
    done = {i.id: i for i in instances if i._state.name in _DONE}
    if not done:
        return original(self)
    fresh = [i for i in instance_ids if i not in done]
    changed: dict[str, Any] = {}
    if fresh:
        for instance, previous in self.ec2_backend.terminate_instances(fresh):
            changed[instance.id] = previous
        autoscaling_backends[self.current_account][self.region].notify_terminate_instances(fresh)
        elbv2_backends[self.current_account][self.region].notify_terminate_instances(fresh)
    answers = []
    for instance_id in dict.fromkeys(instance_ids):
        if instance_id in done:
            state = copy.copy(done[instance_id]._state)
            answers.append({"InstanceId": instance_id, "CurrentState": state,
                            "PreviousState": state})
        elif instance_id in changed:
            answers.append({"InstanceId": instance_id,
                            "CurrentState": {"Code": 32, "Name": "shutting-down"},
                            "PreviousState": changed[instance_id]})
    return ActionResult({"TerminatingInstances": answers})
