"""Eventual consistency: for a short while after a create, the new resource
answers `*.NotFound` / `NoSuchEntity` to describe, modify, attach and
authorize calls, and a filtered describe does not list it yet."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend
from moto.elbv2.exceptions import LoadBalancerNotFoundError
from moto.elbv2.models import ELBv2Backend
from moto.iam.exceptions import NotFoundException
from moto.iam.models import IAMBackend

from . import core
from .core import BIRTHS, patch, rule

EVENTUAL = rule(
    "consistency.after-create",
    "Right after a create, groups, internet gateways, route tables, subnets, VPCs, "
    "instances, roles, instance profiles and load balancers answer NotFound / "
    "NoSuchEntity by id, and are missing from filtered describes",
    "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html",
    latency="seconds; modelled 10 s",
)
IAM_EVENTUAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"

WINDOW_SECS = 10.0


def young(resource_id: Any) -> bool:
    return isinstance(resource_id, str) and BIRTHS.younger_than(resource_id, WINDOW_SECS)


def _bound(original: Callable, self: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    sig = inspect.signature(original)
    bound = sig.bind_partial(self, *args, **kwargs)
    return dict(bound.arguments)


def creates(cls: type, name: str, key: Callable[[Any, dict], str]) -> None:
    @patch(cls, name)
    def created(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        BIRTHS.born(key(result, _bound(original, self, args, kwargs)))
        return result


def refuses(cls: type, name: str, arg: str, error: Callable[[str], Exception],
            key: Callable[[str], str] = lambda v: v) -> None:
    """`name` answers `error` while the resource named by `arg` is young."""

    @patch(cls, name)
    def checked(original, self, *args, **kwargs):
        if core.from_api():
            values = _bound(original, self, args, kwargs).get(arg)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str) and young(key(value)):
                    raise error(value)
        return original(self, *args, **kwargs)


def hides(cls: type, name: str, ids_arg: str, filters_arg: str | None,
          error: Callable[[str], Exception], id_of: Callable[[Any], list[str]]) -> None:
    """A describe: by id, a young resource is NotFound; by filter, it is not
    listed yet."""

    @patch(cls, name)
    def described(original, self, *args, **kwargs):
        arguments = _bound(original, self, args, kwargs)
        if not core.from_api():
            return original(self, *args, **kwargs)
        for value in arguments.get(ids_arg) or []:
            if young(value):
                raise error(value)
        result = original(self, *args, **kwargs)
        if filters_arg and arguments.get(filters_arg) and isinstance(result, list):
            result = [r for r in result if not any(young(i) for i in id_of(r))]
        return result


def _ec2(code: str) -> Callable[[str], Exception]:
    return lambda v: EC2ClientError(code, f"The ID '{v}' does not exist")


def _by_id(r: Any) -> list[str]:
    return [r.id]


# EC2: what the product creates, and the calls that follow a create.
for create, kind, code, follow in [
    ("create_security_group", "group", "InvalidGroup.NotFound",
     [("authorize_security_group_ingress", "group_name_or_id"),
      ("authorize_security_group_egress", "group_name_or_id")]),
    ("create_internet_gateway", "igw", "InvalidInternetGatewayID.NotFound",
     [("attach_internet_gateway", "internet_gateway_id")]),
    ("create_route_table", "rtb", "InvalidRouteTableID.NotFound",
     [("create_route", "route_table_id"), ("associate_route_table", "route_table_id")]),
    ("create_subnet", "subnet", "InvalidSubnetID.NotFound",
     [("modify_subnet_attribute", "subnet_id"), ("associate_route_table", "subnet_id")]),
    ("create_vpc", "vpc", "InvalidVpcID.NotFound",
     [("modify_vpc_attribute", "vpc_id"), ("attach_internet_gateway", "vpc_id")]),
]:
    creates(EC2Backend, create, lambda r, a: r.id)
    for method, arg in follow:
        refuses(EC2Backend, method, arg, _ec2(code))

hides(EC2Backend, "describe_security_groups", "group_ids", "filters",
      _ec2("InvalidGroup.NotFound"), _by_id)
hides(EC2Backend, "describe_internet_gateways", "internet_gateway_ids", "filters",
      _ec2("InvalidInternetGatewayID.NotFound"), _by_id)
hides(EC2Backend, "describe_route_tables", "route_table_ids", "filters",
      _ec2("InvalidRouteTableID.NotFound"), _by_id)
hides(EC2Backend, "describe_subnets", "subnet_ids", "filters",
      _ec2("InvalidSubnetID.NotFound"), _by_id)
hides(EC2Backend, "describe_vpcs", "vpc_ids", "filters",
      _ec2("InvalidVpcID.NotFound"), _by_id)
hides(EC2Backend, "get_reservations_by_instance_ids", "instance_ids", None,
      _ec2("InvalidInstanceID.NotFound"), lambda r: [i.id for i in r.instances])
hides(EC2Backend, "describe_instances", "_none", "filters",
      _ec2("InvalidInstanceID.NotFound"), lambda r: [i.id for i in r.instances])
hides(EC2Backend, "describe_instance_status", "instance_ids", None,
      _ec2("InvalidInstanceID.NotFound"), _by_id)


# IAM: roles and instance profiles, keyed by name.
def _no_entity(kind: str) -> Callable[[str], Exception]:
    return lambda v: NotFoundException(f"The {kind} with name {v} cannot be found.")


creates(IAMBackend, "create_role", lambda r, a: f"role:{r.name}")
creates(IAMBackend, "create_instance_profile", lambda r, a: f"profile:{r.name}")
for method in ["get_role", "attach_role_policy", "put_role_policy",
               "add_role_to_instance_profile"]:
    refuses(IAMBackend, method, "role_name", _no_entity("role"), lambda v: f"role:{v}")
for method in ["get_instance_profile", "add_role_to_instance_profile"]:
    refuses(IAMBackend, method, "profile_name", _no_entity("instance profile"),
            lambda v: f"profile:{v}")


@patch(IAMBackend, "create_instance_profile")
def _profile_arn_born(original, self, *args, **kwargs):
    # RunInstances' propagation delay (ec2.PROFILE_PROPAGATION) is by ARN.
    profile = original(self, *args, **kwargs)
    BIRTHS.born(profile.arn)
    return profile


# ELBv2: the load balancer right after CreateLoadBalancer.
creates(ELBv2Backend, "create_load_balancer", lambda r, a: r.arn)
refuses(ELBv2Backend, "create_listener", "load_balancer_arn",
        lambda v: LoadBalancerNotFoundError())
refuses(ELBv2Backend, "modify_load_balancer_attributes", "arn",
        lambda v: LoadBalancerNotFoundError())
hides(ELBv2Backend, "describe_load_balancers", "arns", None,
      lambda v: LoadBalancerNotFoundError(), lambda r: [r.arn])
