"""What moto does not implement but the product calls, answered here rather
than skipped: the EC2 Service Quotas the product reads."""

from __future__ import annotations

from typing import Any

from moto.servicequotas.models import ServiceQuotasBackend

from . import core
from .core import patch, rule

QUOTAS = rule(
    "servicequotas.ec2",
    "GetServiceQuota answers the EC2 quotas the product reads (moto knows only vpc); "
    "values are a new account's defaults and can be set per test",
    "https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html",
)

# Values that let every tier deploy (G quotas are 0 on many new accounts; a
# test sets that through /strict-api/quota).
EC2_QUOTAS: dict[str, tuple[str, float]] = {
    "L-34B43A08": ("All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests", 32.0),
    "L-1216C47A": ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 32.0),
    "L-3819A6DF": ("All G and VT Spot Instance Requests", 8.0),
    "L-DB2E81BA": ("Running On-Demand G and VT instances", 8.0),
    "L-0263D0A3": ("EC2-VPC Elastic IPs", 5.0),
}
_overrides: dict[str, float] = {}
core.on_reset(_overrides.clear)


def set_quota(code: str, value: float) -> None:
    _overrides[code] = value


def quota(code: str, default: float) -> float:
    """A quota as a test set it (/strict-api/quota), else AWS's default."""
    return _overrides.get(code, default)


def _quota(service: str, code: str, name: str, value: float) -> dict[str, Any]:
    return {
        "ServiceCode": service, "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1::{service}/{code}",
        "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None",
        "Adjustable": True, "GlobalQuota": False,
    }


@patch(ServiceQuotasBackend, "get_service_quota")
def _get_service_quota(original, self, service_code, quota_code):
    if service_code == "ec2" and quota_code in EC2_QUOTAS:
        name, value = EC2_QUOTAS[quota_code]
        return _quota("ec2", quota_code, name, _overrides.get(quota_code, value))
    answer = original(self, service_code, quota_code)
    if service_code == "vpc" and quota_code in _overrides:
        # moto knows the vpc quotas; one a test set (rules per security group,
        # sg_rules.RULES_PER_GROUP) reads as set.
        answer = dict(answer, Value=_overrides[quota_code])
    return answer
