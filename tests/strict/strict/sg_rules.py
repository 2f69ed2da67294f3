"""Security group rules: the quota on rules per group, in which a referenced
prefix list counts as its weight (its MaxEntries), and the weights of the
AWS-managed prefix lists, which moto lists without MaxEntries.

moto 5.2.5 already has `com.amazonaws.global.cloudfront.origin-facing` in
every region (owner AWS, IPv4, ten real CloudFront ranges) but reports no
MaxEntries and counts a prefix list reference as nothing towards the quota.
"""

from __future__ import annotations

import re
from typing import Any

from moto.ec2.exceptions import RulesPerSecurityGroupLimitExceededError
from moto.ec2.models import EC2Backend
from moto.ec2.models.managed_prefixes import ManagedPrefixList
from moto.ec2.responses.security_groups import SecurityGroups

from . import consistency, core, extras
from .core import patch, rule

PREFIX_LIST_WEIGHT = rule(
    "ec2.prefix-list-weight",
    "AWS-managed prefix lists report their weight as MaxEntries "
    "(com.amazonaws.global.cloudfront.origin-facing: 55)",
    "https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html#aws-managed-prefix-list-weights",
)
RULES_PER_GROUP = rule(
    "ec2.rules-per-security-group",
    "AuthorizeSecurityGroupIngress/Egress that would take a group over 60 inbound (or "
    "outbound) rules is refused (RulesPerSecurityGroupLimitExceeded): each CIDR, each "
    "referenced group and each referenced prefix list's MaxEntries count; IPv4 and "
    "IPv6 separately; quota L-0EA8095F, settable through /strict-api/quota",
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups",
)

CLOUDFRONT = "com.amazonaws.global.cloudfront.origin-facing"
# The weights AWS publishes (the page of PREFIX_LIST_WEIGHT), by name pattern.
WEIGHTS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^com\.amazonaws\.global\.(ipv6\.)?cloudfront\.origin-facing$"), 55),
    (re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.(s3|dynamodb)$"), 1),
    (re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.(ipv6\.)?ec2-instance-connect$"), 2),
    (re.compile(r"^com\.amazonaws\.global\.groundstation$"), 5),
    (re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.(ipv6\.)?route53-healthchecks$"), 25),
    (re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.s3express$"), 6),
    (re.compile(r"^com\.amazonaws\.[a-z0-9-]+\.(ipv6\.)?vpc-lattice$"), 10),
]
QUOTA_CODE = "L-0EA8095F"  # vpc: Inbound or outbound rules per security group
DEFAULT_QUOTA = 60


def weight_of_name(name: str | None) -> int | None:
    for pattern, weight in WEIGHTS:
        if name and pattern.match(name):
            return weight
    return None


# --- MaxEntries of AWS-managed lists -------------------------------------------


def _get_max_entries(self: ManagedPrefixList):
    stored = self.__dict__.get("_strict_max_entries")
    if core.CONFIG.enabled and self.resource_owner_id == "AWS":
        weight = weight_of_name(self.prefix_list_name)
        if weight is not None:
            return weight
    return stored


def _set_max_entries(self: ManagedPrefixList, value) -> None:
    self.__dict__["_strict_max_entries"] = value


ManagedPrefixList.max_entries = property(_get_max_entries, _set_max_entries)


def prefix_list_weight(backend: EC2Backend, prefix_list_id: str) -> int:
    found = backend.managed_prefix_lists.get(prefix_list_id)
    if found is None:
        return 1
    if found.resource_owner_id == "AWS":
        weight = weight_of_name(found.prefix_list_name)
        if weight is not None:
            return weight
    try:
        return max(1, int(found.max_entries))
    except (TypeError, ValueError):
        return max(1, len(found.entries.get(found.version, []) if found.entries else []))


# --- rules per group ------------------------------------------------------------

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1", "58": "icmpv6"}


def _protocol(value: Any) -> str:
    text = str(value).lower() if value is not None else "-1"
    return _PROTOCOLS.get(text, text)


def _ports(protocol: str, from_port: Any, to_port: Any) -> tuple:
    if protocol == "-1":
        return ()
    return (None if from_port is None else int(from_port),
            None if to_port is None else int(to_port))


def _existing(backend: EC2Backend, rules: list) -> dict[tuple, tuple[int, int]]:
    """Each rule of a group: its identity, and what it weighs (IPv4, IPv6)."""
    found: dict[tuple, tuple[int, int]] = {}
    for r in rules:
        proto = _protocol(r.ip_protocol)
        ports = _ports(proto, r.from_port, r.to_port)
        if r.ip_range.get("CidrIp"):
            found[(proto, ports, "cidr", r.ip_range["CidrIp"])] = (1, 0)
        elif r.ip_range.get("CidrIpv6"):
            found[(proto, ports, "cidr6", r.ip_range["CidrIpv6"])] = (0, 1)
        elif r.source_group:
            ref = r.source_group.get("GroupId") or r.source_group.get("GroupName")
            found[(proto, ports, "group", ref)] = (1, 1)
        elif r.prefix_list_id:
            w = prefix_list_weight(backend, r.prefix_list_id)
            found[(proto, ports, "pl", r.prefix_list_id)] = (w, w)
    return found


def _asked(backend: EC2Backend, permission: dict[str, Any]) -> dict[tuple, tuple[int, int]]:
    proto = _protocol(permission.get("ip_protocol"))
    ports = _ports(proto, permission.get("from_port"), permission.get("to_port"))
    found: dict[tuple, tuple[int, int]] = {}
    for cidr in permission.get("ip_ranges") or []:
        if isinstance(cidr, str):
            cidr = {"CidrIpv6": cidr} if ":" in cidr else {"CidrIp": cidr}
        if cidr.get("CidrIp"):
            found[(proto, ports, "cidr", cidr["CidrIp"])] = (1, 0)
        elif cidr.get("CidrIpv6"):
            found[(proto, ports, "cidr6", cidr["CidrIpv6"])] = (0, 1)
    for pair in permission.get("source_groups") or []:
        ref = pair.get("GroupId") or pair.get("GroupName")
        found[(proto, ports, "group", ref)] = (1, 1)
    for pl in permission.get("prefix_list_ids") or []:
        w = prefix_list_weight(backend, pl.get("PrefixListId"))
        found[(proto, ports, "pl", pl.get("PrefixListId"))] = (w, w)
    return found


def quota() -> int:
    return int(extras.quota(QUOTA_CODE, DEFAULT_QUOTA))


def _check(response: SecurityGroups, egress: bool) -> None:
    backend = response.ec2_backend
    if response._get_param("DryRun"):
        return  # moto answers DryRunOperation
    permissions = list(response._process_rules_from_querystring())
    if not permissions or not permissions[0]["group_name_or_id"]:
        return
    group = backend.get_security_group_by_name_or_id(permissions[0]["group_name_or_id"])
    if group is None or consistency.young(group.id):
        return  # moto (or the consistency rule) answers NotFound
    rules = _existing(backend, group.egress_rules if egress else group.ingress_rules)
    total = [sum(w[0] for w in rules.values()), sum(w[1] for w in rules.values())]
    for permission in permissions:
        for key, (v4, v6) in _asked(backend, permission).items():
            if key in rules:
                continue  # a duplicate adds nothing (moto answers Duplicate)
            rules[key] = (v4, v6)
            total[0] += v4
            total[1] += v6
    if max(total) > quota():
        raise RulesPerSecurityGroupLimitExceededError()


@patch(SecurityGroups, "authorize_security_group_ingress")
def _authorize_ingress(original, self):
    _check(self, egress=False)
    return original(self)


@patch(SecurityGroups, "authorize_security_group_egress")
def _authorize_egress(original, self):
    _check(self, egress=True)
    return original(self)


@patch(EC2Backend, "_verify_group_will_respect_rule_count_limit")
def _moto_count(original, self, *args, **kwargs):
    # Replaced by RULES_PER_GROUP, which counts prefix lists and follows the
    # quota a test sets; moto's own count stops at 60 whatever the quota.
    return None
