"""An IAM policy evaluator for one AWS account, following the IAM User Guide's documented evaluation logic.

Why not moto: moto 5.2.5's ``moto/iam/access_control.py`` (``IAMPolicyStatement``) with
``moto/iam/policy_conditions.py`` evaluates only ``StringEquals`` and treats every other condition operator
as matching (so ``StringLike`` on ``s3:prefix`` never restricts anything), lets a condition whose key is
missing from the request match, turns an Allow statement whose condition fails into an explicit DENY,
ignores ``NotResource``/``NotPrincipal`` and ``?``, matches actions case-sensitively and builds its
wildcard regex without escaping (``.`` in an ARN matches any character). None of that is what IAM does.

Sources (IAM User Guide):

* "Policy evaluation logic" / "Evaluating policies within a single account"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (explicit Deny wins; otherwise an Allow in an identity-based OR a resource-based policy allows; else
  implicit deny).
* "IAM JSON policy elements: Condition operators"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (a key missing from the request context does not match, except that a negated operator such as
  ``StringNotLike`` or ``ArnNotLike`` is then true; ``...IfExists`` is true for a missing key; ``Null``).
* "Conditions with multiple context keys or values"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
  (several operators: AND; several keys: AND; several values of one key: OR; of a negated operator: NOR;
  ``ForAllValues`` is true for an empty or missing key, ``ForAnyValue`` false).
* "IAM JSON policy elements: Resource"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  (``*`` and ``?`` inside an ARN segment; a ``*`` that is the last character of a segment may match
  beyond the colon boundaries).
* "IAM JSON policy elements: Action" (action names are case-insensitive) and "Condition operators" ->
  "Amazon Resource Name (ARN) condition operators" (each of the six colon-delimited ARN components is
  matched separately).
* AWS KMS Developer Guide, "Default key policy"
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  (IAM policies take effect for a KMS key only if its key policy allows the account principal).

Known limits: one account (cross-account calls evaluate the
identity side only), no SCPs, permission boundaries or session policies, no ``aws:`` context keys beyond
what a call supplies (plus ``aws:SecureTransport``, ``aws:PrincipalArn``, ``aws:PrincipalAccount``),
policy variables only as ``${key}`` taken from the request context.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "Decision",
    "PolicyError",
    "Request",
    "Statement",
    "arn_like",
    "evaluate",
    "statements_of",
]


class PolicyError(ValueError):
    """A policy this evaluator cannot read (an unknown element, operator or value type)."""


# ---------------------------------------------------------------------------------------------------------
# Requests and statements
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorized call.

    Attributes:
        principal: the caller: an IAM role ARN (``arn:aws:iam::123456789012:role/name``) or a service
            principal (``events.amazonaws.com``).
        action: ``service:Action`` as IAM evaluates it (e.g. ``s3:ListBucket``).
        resource: the ARN IAM evaluates (``*`` for actions without resource-level permissions).
        context: request context keys -> values (a string, or a sequence of strings for a multivalued
            key). Keys are case-insensitive, as in IAM.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def principal_account(self) -> str | None:
        parts = self.principal.split(":")
        return parts[4] if self.principal.startswith("arn:") and len(parts) > 4 and parts[4] else None

    @property
    def is_service(self) -> bool:
        return not self.principal.startswith("arn:")

    def full_context(self) -> dict[str, tuple[str, ...]]:
        """The context IAM sees: the call's keys plus ``aws:SecureTransport=true`` (SageMaker and the
        other services call over TLS) and, for an IAM principal, ``aws:PrincipalArn``/``aws:PrincipalAccount``."""
        ctx: dict[str, tuple[str, ...]] = {"aws:securetransport": ("true",)}
        if not self.is_service:
            ctx["aws:principalarn"] = (self.principal,)
            if self.principal_account:
                ctx["aws:principalaccount"] = (self.principal_account,)
        for key, value in self.context.items():
            ctx[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
        return ctx


@dataclass(frozen=True)
class Statement:
    """One policy statement, with where it comes from.

    Attributes:
        raw: the statement as in the policy document (after CloudFormation intrinsics are resolved).
        source: where it is (e.g. ``ConstructsLibDagExample/TrainingJobRoleF750C0D4/JobPermissions``).
        resource_policy: True for a statement of a resource-based policy (it needs a ``Principal``).
    """

    raw: Mapping[str, Any]
    source: str = ""
    resource_policy: bool = False

    @property
    def sid(self) -> str:
        return str(self.raw.get("Sid", ""))

    @property
    def label(self) -> str:
        return f"{self.sid or '<no Sid>'} ({self.source})" if self.source else self.sid or "<no Sid>"

    @property
    def effect(self) -> str:
        effect = self.raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"statement {self.label}: Effect must be Allow or Deny, got {effect!r}")
        return str(effect)


def statements_of(
    document: Mapping[str, Any], source: str = "", *, resource_policy: bool = False
) -> list[Statement]:
    """The statements of a policy document (``Statement`` may be one object or a list)."""
    raw = document.get("Statement", [])
    items = [raw] if isinstance(raw, Mapping) else list(raw)
    return [Statement(s, source, resource_policy) for s in items]


def _as_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(f"{what} must be a string or a list of strings, got {value!r}")


# ---------------------------------------------------------------------------------------------------------
# Wildcards
# ---------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool, segment_bound: bool) -> re.Pattern[str]:
    """``*``/``?`` wildcards as a regex. With ``segment_bound`` (ARN segments) a ``*`` in the middle of a
    segment does not cross ``:``, while a ``*`` that ends a segment may (IAM User Guide, Resource)."""
    out = []
    for i, ch in enumerate(pattern):
        if ch == "*":
            ends_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if not segment_bound or ends_segment else "[^:]*")
        elif ch == "?":
            out.append("[^:]" if segment_bound else ".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False, segment_bound: bool = False) -> bool:
    return _glob(pattern, ignore_case=ignore_case, segment_bound=segment_bound).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ARN condition operators: each of the six colon-delimited components is matched separately (the
    last one, the resource, may itself contain colons)."""
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return pattern == "*" or _like(pattern, value)
    return all(_like(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or _like(pattern, action, ignore_case=True)


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    return _like(pattern, resource, segment_bound=pattern.startswith("arn:"))


# ---------------------------------------------------------------------------------------------------------
# Policy variables
# ---------------------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


class _Unresolved(Exception):
    pass


def _substitute(text: str, ctx: Mapping[str, tuple[str, ...]]) -> str:
    """``${aws:username}``-style policy variables from the request context; ``${*}``, ``${?}``, ``${$}``
    are the literal characters. A variable with no (single) value makes the element not match."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        if name in _ESCAPES:
            return _ESCAPES[name]
        key, _, default = name.partition(",")
        values = ctx.get(key.strip().lower())
        if values and len(values) == 1:
            return values[0]
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
        raise _Unresolved(name)

    return _VARIABLE.sub(sub, text) if "${" in text else text


# ---------------------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------------------


def _num(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str) -> dt.datetime | None:
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", value):
            return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        return None


def _compare(ordered: Any, op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return bool(ordered[op](a, b))


_ORDER = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _value_matches(base: str, policy_value: str, context_value: str) -> bool:
    """Whether one context value matches one policy value under the positive form of ``base``."""
    if base == "StringEquals":
        return context_value == policy_value
    if base == "StringEqualsIgnoreCase":
        return context_value.lower() == policy_value.lower()
    if base == "StringLike":
        return _like(policy_value, context_value)
    if base.startswith("Numeric"):
        return _compare(_ORDER, base[len("Numeric") :], _num(context_value), _num(policy_value))
    if base.startswith("Date"):
        return _compare(_ORDER, base[len("Date") :], _date(context_value), _date(policy_value))
    if base == "Bool":
        return context_value.lower() == policy_value.lower()
    if base == "BinaryEquals":
        try:
            return base64.b64decode(context_value) == base64.b64decode(policy_value)
        except ValueError:
            return False
    if base == "IpAddress":
        try:
            return ipaddress.ip_address(context_value) in ipaddress.ip_network(policy_value, strict=False)
        except ValueError:
            return False
    if base in ("ArnEquals", "ArnLike"):
        return arn_like(policy_value, context_value)
    raise PolicyError(f"condition operator {base!r} is not supported")


#: Negated operator -> its positive form.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_POSITIVE = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "ArnEquals",
    "ArnLike",
}


def _policy_values(raw: Any, where: str) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, int | float | str):
            out.append(str(v))
        else:
            raise PolicyError(f"{where}: condition value {v!r} is not a string, number or boolean")
    return out


def condition_holds(operator: str, key: str, raw_values: Any, ctx: Mapping[str, tuple[str, ...]]) -> bool:
    """One ``operator: {key: values}`` entry against the request context (documented semantics)."""
    where = f"{operator} {key}"
    qualifier, _, op = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"unknown set operator {qualifier!r} in {operator!r}")
    if_exists = op.endswith("IfExists") and op != "IfExists"
    if if_exists:
        op = op[: -len("IfExists")]
    policy_values = _policy_values(raw_values, where)
    present = key.lower() in ctx
    context_values = ctx.get(key.lower(), ())

    if op == "Null":
        if qualifier or if_exists:
            raise PolicyError(f"{operator!r}: Null takes no set operator or IfExists")
        return all((v.lower() == "true") == (not present) for v in policy_values)

    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if not negated and op not in _POSITIVE:
        raise PolicyError(f"condition operator {operator!r} is not supported")
    try:
        policy_values = [_substitute(v, ctx) for v in policy_values]
    except _Unresolved:
        return False

    def value_ok(cv: str) -> bool:
        hit = any(_value_matches(base, pv, cv) for pv in policy_values)  # several values: OR
        return not hit if negated else hit  # a negated operator: NOR

    if qualifier == "ForAllValues":
        return all(value_ok(cv) for cv in context_values)  # empty or missing key: true
    if qualifier == "ForAnyValue":
        return any(value_ok(cv) for cv in context_values)  # empty or missing key: false
    if not present:
        return if_exists or negated
    if negated:
        return all(value_ok(cv) for cv in context_values)
    return any(value_ok(cv) for cv in context_values)


def _conditions_hold(statement: Statement, ctx: Mapping[str, tuple[str, ...]]) -> tuple[bool, str]:
    block = statement.raw.get("Condition", {})
    if not isinstance(block, Mapping):
        raise PolicyError(f"statement {statement.label}: Condition must be an object")
    for operator, entries in block.items():  # several operators: AND
        if not isinstance(entries, Mapping):
            raise PolicyError(f"statement {statement.label}: {operator} must map keys to values")
        for key, values in entries.items():  # several keys: AND
            if not condition_holds(operator, key, values, ctx):
                got = ctx.get(key.lower())
                shown = "absent" if got is None else (got[0] if len(got) == 1 else list(got))
                return False, f"condition {operator} {key} {values!r} fails for {shown!r}"
    return True, ""


# ---------------------------------------------------------------------------------------------------------
# Principals
# ---------------------------------------------------------------------------------------------------------


def _root_of(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def _principal_entries(value: Any, what: str) -> list[tuple[str, str]]:
    """``Principal``/``NotPrincipal`` as ``(kind, value)`` pairs; ``"*"`` is ``("*", "*")``."""
    if value == "*":
        return [("*", "*")]
    if not isinstance(value, Mapping):
        raise PolicyError(f"{what} must be '*' or an object, got {value!r}")
    return [(kind, v) for kind, raw in value.items() for v in _as_list(raw, f"{what}.{kind}")]


def _is_account(value: str) -> str | None:
    """The account of ``123456789012`` or ``arn:aws:iam::123456789012:root``."""
    if re.fullmatch(r"\d{12}", value):
        return value
    m = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):root", value)
    return m.group(1) if m else None


def _principal_matches(entries: Iterable[tuple[str, str]], request: Request, *, effect: str) -> bool:
    for kind, value in entries:
        if kind == "*" or (kind == "AWS" and value == "*"):
            return True
        if kind == "Service" and request.is_service and value.lower() == request.principal.lower():
            return True
        if kind == "AWS" and not request.is_service:
            if value == request.principal:
                return True
            account = _is_account(value)
            # An account principal in an Allow delegates to that account's IAM policies (it grants nothing
            # to a role by itself); in a Deny it covers every principal of the account.
            if account is not None and effect == "Deny" and account == request.principal_account:
                return True
    return False


def _account_principal_allowed(statement: Statement, account: str) -> bool:
    if "Principal" not in statement.raw:
        return False
    for kind, value in _principal_entries(
        statement.raw["Principal"], f"statement {statement.label} Principal"
    ):
        if kind == "AWS" and _is_account(value) == account:
            return True
    return False


# ---------------------------------------------------------------------------------------------------------
# Statement matching
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """How one statement relates to one request."""

    statement: Statement
    action: bool
    resource: bool
    principal: bool
    condition: bool
    why_not: str

    @property
    def applies(self) -> bool:
        return self.action and self.resource and self.principal and self.condition

    @property
    def score(self) -> tuple[int, int]:
        return (int(self.action) * 4 + int(self.resource) * 2 + int(self.condition), int(self.principal))


def _element(statement: Statement, positive: str, negative: str) -> tuple[list[str], bool]:
    raw = statement.raw
    if (positive in raw) == (negative in raw):
        raise PolicyError(f"statement {statement.label} needs exactly one of {positive} / {negative}")
    name = positive if positive in raw else negative
    return _as_list(raw[name], f"statement {statement.label} {name}"), name == negative


def match(statement: Statement, request: Request, ctx: Mapping[str, tuple[str, ...]] | None = None) -> Match:
    """Evaluate each part of ``statement`` against ``request``."""
    ctx = request.full_context() if ctx is None else ctx
    reasons = []
    actions, not_action = _element(statement, "Action", "NotAction")
    hit = any(_action_matches(a, request.action) for a in actions)
    action_ok = hit != not_action
    if not action_ok:
        reasons.append(f"action {request.action} {'is in NotAction' if not_action else 'not in Action'}")

    resources, not_resource = _element(statement, "Resource", "NotResource")
    try:
        hit = any(_resource_matches(_substitute(r, ctx), request.resource) for r in resources)
        resource_ok = hit != not_resource
    except _Unresolved as exc:
        resource_ok, hit = False, False
        reasons.append(f"policy variable ${{{exc}}} has no value")
    if not resource_ok:
        reasons.append(f"resource {'is in NotResource' if not_resource else 'matches no Resource'}")

    if statement.resource_policy:
        if ("Principal" in statement.raw) == ("NotPrincipal" in statement.raw):
            raise PolicyError(f"resource policy statement {statement.label} needs Principal or NotPrincipal")
        if "Principal" in statement.raw:
            entries = _principal_entries(statement.raw["Principal"], f"statement {statement.label} Principal")
            principal_ok = _principal_matches(entries, request, effect=statement.effect)
        else:
            entries = _principal_entries(
                statement.raw["NotPrincipal"], f"statement {statement.label} NotPrincipal"
            )
            principal_ok = not _principal_matches(entries, request, effect="Deny")
        if not principal_ok:
            reasons.append(f"principal {request.principal} not named")
    else:
        if "Principal" in statement.raw or "NotPrincipal" in statement.raw:
            raise PolicyError(f"identity policy statement {statement.label} must not have a Principal")
        principal_ok = True

    condition_ok, why = _conditions_hold(statement, ctx)
    if not condition_ok:
        reasons.append(why)
    return Match(statement, action_ok, resource_ok, principal_ok, condition_ok, "; ".join(reasons))


# ---------------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The outcome for one request.

    Attributes:
        allowed: True when IAM allows the request.
        reason: ``allowed``, ``explicit-deny``, ``implicit-deny``, ``key-policy`` (a KMS key policy that
            neither allows the principal nor enables IAM policies) or ``unknown-policy``.
        deciding: the statements that decided (the matching Allow(s) or Deny).
        nearest: for a denied request, the Allow statement that came closest, and why it did not apply.
    """

    allowed: bool
    reason: str
    deciding: tuple[Statement, ...] = ()
    nearest: Match | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.allowed:
            return "allowed by " + ", ".join(s.label for s in self.deciding)
        if self.reason == "explicit-deny":
            return "explicitly denied by " + ", ".join(s.label for s in self.deciding)
        text = {
            "implicit-deny": "no statement allows it",
            "key-policy": "the key policy does not allow it",
        }.get(self.reason, self.detail)
        if self.nearest is not None:
            text += f"; nearest: {self.nearest.statement.label}: {self.nearest.why_not}"
        return text


def evaluate(
    request: Request,
    *,
    identity: Sequence[Statement] = (),
    resource_policy: Sequence[Statement] = (),
    kms_key_policy: bool = False,
    unknown_policies: Sequence[str] = (),
    resource_account: str | None = None,
) -> Decision:
    """IAM's decision for ``request`` in one account.

    Args:
        identity: the statements of every identity-based policy of the principal (inline, attached
            customer-managed). Empty for a service principal.
        resource_policy: the statements of the resource's policy (bucket, topic or key policy); each must
            carry ``Principal``/``NotPrincipal``.
        kms_key_policy: the resource is a KMS key and ``resource_policy`` is its key policy: identity
            policies count only if the key policy allows the account principal (default key policy).
        unknown_policies: policies that apply but cannot be read (an AWS-managed policy ARN): the
            evaluation fails (``unknown-policy``) instead of guessing.
        resource_account: the account owning the resource (default: the principal's). For a resource of
            another account only the identity side is evaluated here; the owner's policy is outside the
            template.
    """
    if unknown_policies:
        return Decision(
            False,
            "unknown-policy",
            detail="cannot evaluate policies outside the template: " + ", ".join(unknown_policies),
        )
    ctx = request.full_context()
    matches = [match(s, request, ctx) for s in (*identity, *resource_policy)]
    denies = tuple(m.statement for m in matches if m.applies and m.statement.effect == "Deny")
    if denies:
        return Decision(False, "explicit-deny", denies)
    identity_allows = tuple(
        m.statement
        for m in matches
        if m.applies and m.statement.effect == "Allow" and not m.statement.resource_policy
    )
    resource_allows = tuple(
        m.statement
        for m in matches
        if m.applies and m.statement.effect == "Allow" and m.statement.resource_policy
    )
    cross_account = (
        resource_account is not None
        and request.principal_account is not None
        and resource_account != request.principal_account
    )
    if kms_key_policy and not cross_account:
        if resource_allows:
            return Decision(True, "allowed", resource_allows)
        account = request.principal_account or ""
        enables_iam = [
            s
            for s in resource_policy
            if s.effect == "Allow"
            and _account_principal_allowed(s, account)
            and match(
                s, Request(_root_of(account), request.action, request.resource, request.context)
            ).applies
        ]
        if enables_iam and identity_allows:
            return Decision(True, "allowed", (*identity_allows, *enables_iam))
        reason = "implicit-deny" if enables_iam else "key-policy"
        return Decision(False, reason, nearest=_nearest(matches))
    # Across accounts, the owner's resource policy is outside the template: only the identity side here.
    allows = identity_allows if cross_account else identity_allows + resource_allows
    if allows:
        return Decision(True, "allowed", allows)
    return Decision(False, "implicit-deny", nearest=_nearest(matches))


def _nearest(matches: Sequence[Match]) -> Match | None:
    allows = [m for m in matches if m.statement.effect == "Allow"]
    if not allows:
        return None
    return max(allows, key=lambda m: m.score)
