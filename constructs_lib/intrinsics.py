"""CloudFormation's pseudo parameters of a stack (``AWS::Region``, ``AWS::AccountId``, ``AWS::Partition``,
``AWS::URLSuffix``, ``AWS::StackName``), for :mod:`constructs_lib.verify`'s reading of a deployed stack's
definition. Pure Python (no ``aws_cdk``)."""

from __future__ import annotations

__all__ = ["URL_SUFFIXES", "pseudo_parameters"]

#: ``AWS::URLSuffix`` per partition.
URL_SUFFIXES = {"aws-cn": "amazonaws.com.cn", "aws-iso": "c2s.ic.gov", "aws-iso-b": "sc2s.sgov.gov"}


def pseudo_parameters(*, region: str, account: str, partition: str, stack_name: str) -> dict[str, str]:
    """CloudFormation's pseudo parameters of one stack (``AWS::Region``, ``AWS::AccountId``...)."""
    return {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": partition,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": URL_SUFFIXES.get(partition, "amazonaws.com"),
    }
