"""IAM SimulatePrincipalPolicy, which moto lacks (it answers 500, "not
implemented"). The product's `doctor` simulates every action that deploy and
destroy use, for the caller's user or role.

The evaluator is deliberately simple:

- The principal is named by its ARN: a user (its inline and attached managed
  policies, and those of its groups) or a role (its inline and attached
  managed policies). A user ARN may be moto's GetCallerIdentity answer for
  static credentials, arn:aws:sts::ACCOUNT:user/NAME.
- A statement applies to an (action, resource) pair when one of its Action
  patterns matches the action (or, with NotAction, none does),
  case-insensitively, and one of its Resource patterns matches the resource
  (or, with NotResource, none does), case-sensitively. In both, `*` matches
  any run of characters and `?` one character.
- Conditions are not evaluated: a statement with a Condition applies as if it
  held. ContextEntries are accepted and ignored.
- An applicable Deny wins ("explicitDeny"); else an applicable Allow gives
  "allowed"; else "implicitDeny".
- Permission boundaries, SCPs, session policies and resource policies are
  not modelled.

The answer has one EvaluationResult per action and resource (resource "*"
when no ResourceArns are given), with the statements that decided it, in
pages of MaxItems (default 100) linked by Marker, as AWS pages them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput
from moto.iam.responses import IamResponse

from . import core
from .core import rule

SIMULATE = rule(
    "iam.simulate_principal_policy",
    "SimulatePrincipalPolicy evaluates the user's or role's own policies (a user's groups "
    "too): an explicit Deny wins, else a matching Allow (Action and Resource with * and ? "
    "wildcards, actions case-insensitive) is 'allowed', else 'implicitDeny'; conditions, "
    "boundaries and SCPs are not modelled",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html",
)

DEFAULT_MAX_ITEMS = 100


@dataclass(frozen=True)
class Source:
    """One policy document of the principal, and where it comes from."""

    id: str
    type: str  # PolicySourceType: user, group, role, user-managed, aws-managed
    document: dict


def _listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(f"^{regex}$", flags)


def _matches(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def _covers(statement: dict, key: str, value: str, ignore_case: bool) -> bool:
    """Whether `Action`/`NotAction` (or `Resource`/`NotResource`) covers `value`."""
    if key in statement:
        return _matches(_listed(statement[key]), value, ignore_case)
    if f"Not{key}" in statement:
        return not _matches(_listed(statement[f"Not{key}"]), value, ignore_case)
    return False


def applies(statement: dict, action: str, resource: str) -> bool:
    return _covers(statement, "Action", action, True) and _covers(
        statement, "Resource", resource, False)


def _parsed(document: Any) -> dict:
    if isinstance(document, dict):
        return document
    text = str(document or "{}")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(unquote(text))


def _default_document(policy: Any) -> Any:
    for version in policy.versions:
        if version.is_default:
            return version.document
    return "{}"


def _managed(policies: dict) -> list[Source]:
    sources = []
    for arn, policy in policies.items():
        kind = "aws-managed" if ":iam::aws:policy/" in arn else "user-managed"
        sources.append(Source(arn, kind, _parsed(_default_document(policy))))
    return sources


def _inline(policies: dict, kind: str) -> list[Source]:
    return [Source(name, kind, _parsed(doc)) for name, doc in policies.items()]


def _of(entity: Any, kind: str) -> list[Source]:
    return _inline(entity.policies, kind) + _managed(entity.managed_policies)


def principal_sources(backend: Any, arn: str) -> list[Source]:
    """Every policy document of the user or role named by `arn`."""
    parts = (arn or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
        raise InvalidInput(f"PolicySourceArn {arn!r} is not the ARN of an IAM user or role")
    kind, _, rest = parts[5].partition("/")
    name = rest.rsplit("/", 1)[-1]
    if kind == "user":
        user = backend.get_user(name)
        sources = _of(user, "user")
        for group in backend.get_groups_for_user(name):
            sources += _of(group, "group")
        return sources
    if kind == "role":
        return _of(backend.get_role(name), "role")  # NoSuchEntity when missing
    raise InvalidInput(f"PolicySourceArn {arn!r} is not the ARN of an IAM user or role")


def evaluate(sources: list[Source], action: str, resource: str) -> dict[str, Any]:
    """One EvaluationResult: explicit Deny wins, then Allow, else implicitDeny."""
    matched: dict[str, list[Source]] = {"Deny": [], "Allow": []}
    for source in sources:
        for statement in _listed(source.document.get("Statement")):
            effect = statement.get("Effect")
            if effect in matched and applies(statement, action, resource):
                matched[effect].append(source)
    if matched["Deny"]:
        decision, deciding = "explicitDeny", matched["Deny"]
    elif matched["Allow"]:
        decision, deciding = "allowed", matched["Allow"]
    else:
        decision, deciding = "implicitDeny", []
    return {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": decision,
        "MatchedStatements": [
            {"SourcePolicyId": s.id, "SourcePolicyType": s.type} for s in deciding],
        "MissingContextValues": [],
    }


def page(results: list[dict], max_items: int, marker: int) -> dict[str, Any]:
    end = marker + max_items
    answer: dict[str, Any] = {"EvaluationResults": results[marker:end],
                              "IsTruncated": end < len(results)}
    if answer["IsTruncated"]:
        answer["Marker"] = str(end)
    return answer


def _int(value: Any, default: int, what: str) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what} {value!r} is not a number") from e


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    if not core.CONFIG.enabled:
        # Plain moto: the action does not exist.
        raise NotImplementedError(
            "The simulate_principal_policy action has not been implemented")
    sources = principal_sources(self.backend, self._get_param("PolicySourceArn"))
    actions = _listed(self._get_param("ActionNames"))
    if not actions:
        raise InvalidInput("ActionNames must name at least one action")
    resources = _listed(self._get_param("ResourceArns")) or ["*"]
    results = [evaluate(sources, a, r) for a in actions for r in resources]
    max_items = _int(self._get_param("MaxItems"), DEFAULT_MAX_ITEMS, "MaxItems")
    marker = _int(self._get_param("Marker"), 0, "Marker")
    return ActionResult(page(results, max(1, max_items), marker))


IamResponse.simulate_principal_policy = simulate_principal_policy
