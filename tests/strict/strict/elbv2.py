"""ELBv2: an Application Load Balancer needs subnets in two zones, names have
a length limit, and its interfaces linger after DeleteLoadBalancer."""

from __future__ import annotations

from moto.ec2.models import ec2_backends
from moto.elbv2.exceptions import ValidationError
from moto.elbv2.models import ELBv2Backend

from . import interfaces
from .core import patch, rule

TWO_ZONES = rule(
    "elbv2.two-zones",
    "An Application Load Balancer in subnets of fewer than two Availability Zones is "
    "refused",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones",
)
NAME_LIMIT = rule(
    "elbv2.name-32",
    "Load balancer and target group names are at most 32 characters",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
)
LINGERING = rule(
    "elbv2.interfaces-linger",
    "A deleted load balancer's interfaces remain for a while, keeping its security "
    "groups and subnets in use",
    "https://repost.aws/knowledge-center/elb-find-load-balancer-enis",
    latency="minutes (modelled 120 s)",
)

LINGER_SECS = 120.0


def _name(name: str, what: str) -> None:
    if len(name) > 32:
        raise ValidationError(f"{what} name '{name}' cannot be longer than 32 characters")


@patch(ELBv2Backend, "create_load_balancer")
def _create_load_balancer(original, self, name, security_groups, subnet_ids, *args, **kwargs):
    _name(name, "Load balancer")
    kind = kwargs.get("loadbalancer_type") or "application"
    ec2 = ec2_backends[self.account_id][self.region_name]
    zones = {ec2.get_subnet(s).availability_zone for s in subnet_ids or []}
    if kind == "application" and len(zones) < 2:
        raise ValidationError(
            "At least two subnets in two different Availability Zones must be specified")
    return original(self, name, security_groups, subnet_ids, *args, **kwargs)


@patch(ELBv2Backend, "create_target_group")
def _create_target_group(original, self, name, **kwargs):
    _name(name, "Target group")
    return original(self, name, **kwargs)


@patch(ELBv2Backend, "delete_load_balancer")
def _delete_load_balancer(original, self, arn):
    lb = self.load_balancers.get(arn)
    if lb is not None:
        for subnet in lb.subnets:
            interfaces.linger(f"ELB interface of {lb.name} in {subnet.id}",
                              set(lb.security_groups or []), subnet.id, lb.vpc_id,
                              lb.scheme == "internet-facing", LINGER_SECS)
    return original(self, arn)
