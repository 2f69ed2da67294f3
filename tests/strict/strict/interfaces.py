"""Network interfaces that outlive what made them.

On AWS an instance's interface stays until the instance is `terminated`, a
mount target's until it has finished `deleting`, and a load balancer's for a
while after DeleteLoadBalancer. While they exist they keep their security
groups, subnet and public addresses in use. moto deletes them at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import core


@dataclass
class Lingering:
    what: str
    groups: frozenset[str]
    subnet_id: str | None
    vpc_id: str | None
    public_ip: bool
    until: float


_LINGERING: list[Lingering] = []
core.on_reset(_LINGERING.clear)


def linger(what: str, groups: set[str], subnet_id: str | None, vpc_id: str | None,
           public_ip: bool, realistic_secs: float) -> None:
    _LINGERING.append(Lingering(what, frozenset(groups), subnet_id, vpc_id, public_ip,
                                core.now() + core.scaled(realistic_secs)))


def lingering() -> list[Lingering]:
    _LINGERING[:] = [x for x in _LINGERING if x.until > core.now()]
    return list(_LINGERING)


def _live(backend) -> list:
    """moto keeps a terminated instance's primary interface; AWS deletes it
    with the instance (what is still shutting down is lingering)."""
    return [eni for eni in backend.enis.values()
            if eni.instance is None or eni.instance._state.name != "terminated"]


def _eni_groups(eni) -> set[str]:
    return {getattr(g, "id", g) for g in eni.group_set}


def users_of_group(backend, group_id: str) -> list[str]:
    """What still uses `group_id`: interfaces, moto's and lingering ones."""
    users = [x.what for x in lingering() if group_id in x.groups]
    return users + [f"network interface {eni.id}" for eni in _live(backend)
                    if group_id in _eni_groups(eni)]


def users_of_subnet(backend, subnet_id: str) -> list[str]:
    users = [x.what for x in lingering() if x.subnet_id == subnet_id]
    return users + [f"network interface {eni.id}" for eni in _live(backend)
                    if eni.subnet is not None and eni.subnet.id == subnet_id]


def public_users_in_vpc(backend, vpc_id: str) -> list[str]:
    users = [x.what for x in lingering() if x.public_ip and x.vpc_id == vpc_id]
    return users + [f"network interface {eni.id} ({eni.public_ip})" for eni in _live(backend)
                    if eni.public_ip and eni.subnet is not None and eni.subnet.vpc_id == vpc_id]


def users_of_vpc(backend, vpc_id: str) -> list[str]:
    users = [x.what for x in lingering() if x.vpc_id == vpc_id]
    return users + [f"network interface {eni.id}" for eni in _live(backend)
                    if eni.subnet is not None and eni.subnet.vpc_id == vpc_id]
