"""A real ``cdk deploy``: the pinned CDK CLI (``node_modules/.bin/cdk``) against a local moto server.

The life of the example app, as a user runs it: ``cdk bootstrap``; ``cdk synth`` of ``app.py`` (offline,
no credentials, the network guard in the app's process); ``cdk deploy --all`` of that cloud assembly;
``cdk diff`` right after (no differences); a learning-rate change (``lr_app.py``: app.py with the rate
from ``-c``) deployed at the default approval level with no TTY, then ``cdk diff`` again; ``cdk destroy
--all``, after which the retained buckets and their objects are still there.

Each command runs once against the synthesized assembly (``--app <cloud assembly dir>``), so the app is
synthesized twice in all. What moto needs (see /work/shared/FACTS.md): ``TemplateURL`` path-style on a
"localhost" host (``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION``), ``--method=direct`` (moto's change-set
updates hang) with ``--no-previous-parameters``. moto creates no ``AWS::S3::BucketPolicy`` and no
``AWS::SageMaker::Pipeline``: their deletion policies are checked on the deployed template.

Credentials: fake ones, only in the CLI's environment; this process never has any.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import CLI_TIMINGS, FAKE_CREDENTIALS
from support.netguard import guarded_env

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
LR_APP = Path(__file__).with_name("lr_app.py")
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
#: The example stacks deployed to moto: every stack of app.py that needs no resource outside the app
#: (``ConstructsLibProductionExample`` imports a platform VPC, which a fresh moto account does not have).
#: moto skips the resource types it does not implement (the pipeline, the schedule, the model package group,
#: bucket and topic policies) and still reports the stack complete; what it creates is checked below.
STACKS = (
    "ConstructsLibExample",
    "ConstructsLibDagExample",
    "ConstructsLibByoRoleExample",
    "ConstructsLibOperationsExample",
    "ConstructsLibLifecycleExample",
)
#: The stack whose learning rate changes, and the new rate.
CHANGED_STACK = "ConstructsLibExample"
NEW_LEARNING_RATE = "0.01"
#: moto's marker object put into every stack bucket before destroy.
MARKER_KEY = "constructs-lib-test/keep-me.txt"
#: Per-command limit: a hang (e.g. a change-set update in moto) fails fast instead of blocking the suite.
COMMAND_TIMEOUT_S = 240

if not CDK.exists() or shutil.which("node") is None:
    pytest.skip("the pinned CDK CLI is not installed (npm ci has not been run)", allow_module_level=True)


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    output: str  # stdout + stderr

    def tail(self, chars: int = 6000) -> str:
        return f"$ cdk {' '.join(self.args)}\n(exit {self.returncode})\n{self.output[-chars:]}"


class Cdk:
    """Runs the pinned CLI: ``synth`` offline without credentials, everything else against moto."""

    def __init__(self, endpoint: str, workdir: Path) -> None:
        self.workdir = workdir
        home = workdir / "home"
        home.mkdir()
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        common = {
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DISABLE_VERSION_CHECK": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "FORCE_COLOR": "0",
            "PATH": path,
        }
        # synth: this repository's app with this repository's library, the network guard in every Python
        # child, no AWS variables at all (guarded_env drops them), blocked attempts logged
        self.netguard_log = workdir / "netguard.log"
        self.synth_env = guarded_env()
        self.synth_env.update(common)
        self.synth_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), self.synth_env["PYTHONPATH"]])
        self.synth_env["CONSTRUCTS_LIB_STAGING_DIR"] = str(workdir / "staging")
        self.synth_env["CONSTRUCTS_LIB_NETGUARD_LOG"] = str(self.netguard_log)
        # deploy, diff, destroy, bootstrap: moto, fake credentials, an empty HOME and no AWS config files
        self.aws_env = {k: v for k, v in guarded_env().items() if k != "PYTHONPATH"}
        self.aws_env.update(common)
        self.aws_env.update(FAKE_CREDENTIALS)
        self.aws_env.update(
            {
                "HOME": str(home),
                "AWS_CONFIG_FILE": str(home / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": endpoint,
                # the CLI builds TemplateURL from this; moto reads a path-style URL only on "localhost"
                "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": endpoint.replace("127.0.0.1", "localhost"),
            }
        )

    def _run(self, what: str, args: list[str], env: dict[str, str], cwd: Path) -> CliResult:
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [str(CDK), *args, "--no-notices"],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,  # no TTY: nobody can answer a prompt
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else str(exc.stdout or "")
            pytest.fail(f"cdk {' '.join(args)} did not finish in {COMMAND_TIMEOUT_S} s:\n{out[-6000:]}")
        finally:
            CLI_TIMINGS.append((what, time.monotonic() - started))
        return CliResult(args, proc.returncode, proc.stdout)

    def synth(self, what: str, outdir: Path, *extra: str) -> CliResult:
        """``cdk synth`` from the repository root (its cdk.json: ``python3 app.py``, unless ``--app``)."""
        args = ["synth", "--quiet", "--output", str(outdir), "-c", f"constructs_lib:region={REGION}", *extra]
        return self._run(what, args, self.synth_env, ROOT)

    def network_attempts(self) -> str:
        """Non-loopback connections or DNS lookups the synthesized apps attempted (blocked, logged)."""
        return self.netguard_log.read_text() if self.netguard_log.exists() else ""

    def aws(self, what: str, *args: str) -> CliResult:
        """A command against moto, from an empty directory (no cdk.json: ``--app`` says what to use)."""
        return self._run(what, list(args), self.aws_env, self.workdir)


@pytest.fixture(scope="module")
def aws(cli_moto_endpoint: str) -> Callable[[str], Any]:
    """boto3 clients for moto, with explicit fake credentials (nothing is read from the environment)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    return lambda service: session.client(service, endpoint_url=cli_moto_endpoint)


@pytest.fixture(scope="module")
def cdk(cli_moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Cdk:
    return Cdk(cli_moto_endpoint, tmp_path_factory.mktemp("cdk-cli"))


@pytest.fixture(scope="module")
def bootstrapped(cdk: Cdk) -> CliResult:
    result = cdk.aws("cdk bootstrap", "bootstrap", f"aws://{ACCOUNT}/{REGION}")
    assert result.returncode == 0, result.tail()
    return result


@pytest.fixture(scope="module")
def assembly_v1(cdk: Cdk) -> Path:
    """``cdk synth`` of app.py (cdk.json's app) into a cloud assembly."""
    out = cdk.workdir / "cdk.out.v1"
    result = cdk.synth("cdk synth (app.py)", out)
    assert result.returncode == 0, result.tail()
    assert cdk.network_attempts() == ""
    return out


@pytest.fixture(scope="module")
def deployed(cdk: Cdk, bootstrapped: CliResult, assembly_v1: Path, aws: Callable[[str], Any]) -> CliResult:
    """``cdk deploy --all`` of app.py's assembly. The first deploy creates IAM roles and policies, so it
    needs ``--require-approval never`` here (without a TTY any IAM change needs it)."""
    result = cdk.aws(
        "cdk deploy --all (app.py)",
        "deploy", *STACKS, "--app", str(assembly_v1), "--require-approval", "never",
        "--method=direct", "--no-previous-parameters", "--concurrency", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.tail()
    return result


def _stack_resources(aws: Callable[[str], Any], stack: str) -> dict[str, tuple[str, str]]:
    """Logical id -> (type, physical id) of what moto created (it lists skipped resources without ids)."""
    resources = aws("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    return {
        r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
        for r in resources
        if "LogicalResourceId" in r and "PhysicalResourceId" in r
    }


def _of_type(resources: dict[str, tuple[str, str]], cfn_type: str) -> dict[str, str]:
    return {logical: physical for logical, (kind, physical) in resources.items() if kind == cfn_type}


#: The learning rate inside a template's (JSON-in-JSON) pipeline definition: ``learning_rate\\":\\"0.01``.
LEARNING_RATE = re.compile(r'(?<=learning_rate\\":\\")[^\\"]+')
#: The pipeline's provenance tag that follows its configs (constructs_lib.constructs.operations).
CONFIG_DIGEST = re.compile(r'("Key": "constructs-lib:config-sha256",\s*"Value": ")([0-9a-f]{64})')


def _template_text(assembly: Path, stack: str) -> str:
    """A stack's template as text, its asset hashes masked (the code tarball's hash follows its content)."""
    text = (assembly / f"{stack}.template.json").read_text()
    for asset_hash in json.loads((assembly / f"{stack}.assets.json").read_text()).get("files", {}):
        text = text.replace(asset_hash, "<asset-hash>")
    return text


def _no_differences(result: CliResult, stacks: Iterable[str]) -> None:
    assert result.returncode == 0, result.tail()  # --fail: exit 1 on any difference
    for stack in stacks:
        assert re.search(rf"Stack {stack}\b[^\n]*\n\s*There were no differences", result.output), (
            result.tail()
        )
    assert "IAM Statement Changes" not in result.output, result.tail()
    assert "Number of stacks with differences: 0" in result.output, result.tail()


# ------------------------------------------------------------------------------------------------ tests


def test_bootstrap_creates_the_version_parameter(bootstrapped: CliResult, aws: Callable[[str], Any]) -> None:
    """The stacks' CheckBootstrapVersion rule reads /cdk-bootstrap/hnb659fds/version: bootstrap made it."""
    parameter = aws("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]
    assert int(parameter["Value"]) >= 6  # the rule refuses versions 1-5
    bucket = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    aws("s3").head_bucket(Bucket=bucket)


def test_deploy_all_creates_the_example_stacks(
    deployed: CliResult, assembly_v1: Path, aws: Callable[[str], Any]
) -> None:
    cfn = aws("cloudformation")
    s3 = aws("s3")
    for stack in STACKS:
        assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        resources = _stack_resources(aws, stack)
        synthesized = json.loads((assembly_v1 / f"{stack}.template.json").read_text())["Resources"]
        buckets = _of_type(resources, "AWS::S3::Bucket")
        # every bucket of the template (artifact + access-log bucket; the operations example's landing zone)
        assert sorted(buckets) == sorted(k for k, r in synthesized.items() if r["Type"] == "AWS::S3::Bucket")
        assert len(buckets) >= 2, (stack, resources)
        for name in buckets.values():
            s3.head_bucket(Bucket=name)
        roles = _of_type(resources, "AWS::IAM::Role")
        assert sorted(roles) == sorted(k for k, r in synthesized.items() if r["Type"] == "AWS::IAM::Role")
        # the bring-your-own-role stack creates only the pipeline role
        assert len(roles) >= (1 if stack == "ConstructsLibByoRoleExample" else 2), (stack, roles)
        # the CLI published every file asset where the template points: compare the bytes
        manifest = json.loads((assembly_v1 / f"{stack}.assets.json").read_text())
        for entry in manifest["files"].values():
            for dest in entry["destinations"].values():
                bucket = (
                    dest["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
                )
                body = s3.get_object(Bucket=bucket, Key=dest["objectKey"])["Body"].read()
                assert body == (assembly_v1 / entry["source"]["path"]).read_bytes(), (
                    stack,
                    dest["objectKey"],
                )


def test_diff_right_after_deploy_shows_no_differences(
    cdk: Cdk, deployed: CliResult, assembly_v1: Path
) -> None:
    result = cdk.aws(
        "cdk diff (app.py)", "diff", *STACKS, "--app", str(assembly_v1), "--method=template", "--fail"
    )
    _no_differences(result, STACKS)


def test_learning_rate_change_deploys_at_the_default_approval_level(
    cdk: Cdk, deployed: CliResult, assembly_v1: Path, aws: Callable[[str], Any]
) -> None:
    """GIVEN the deployed app WHEN only the learning rate changes THEN ``cdk deploy`` at the default
    approval level, with no TTY, succeeds (nothing security-sensitive changed) and ``cdk diff`` after it
    shows no differences, so no IAM change either."""
    out = cdk.workdir / "cdk.out.v2"
    context = f"constructs_lib_test:learning_rate={NEW_LEARNING_RATE}"
    synth = cdk.synth("cdk synth (learning rate changed)", out, "--app", f"python3 {LR_APP}", "-c", context)
    assert synth.returncode == 0, synth.tail()
    assert cdk.network_attempts() == ""
    # lr_app.py is app.py plus the knob: masking asset hashes and the rate, every template is app.py's
    old_rates = set(LEARNING_RATE.findall(_template_text(assembly_v1, CHANGED_STACK)))
    new_rates = set(LEARNING_RATE.findall(_template_text(out, CHANGED_STACK)))
    assert len(old_rates) == 1 and new_rates == {NEW_LEARNING_RATE} != old_rates, (old_rates, new_rates)
    for stack in STACKS:
        v1, v2 = _template_text(assembly_v1, stack), _template_text(out, stack)
        if stack == CHANGED_STACK:
            # the config digest follows the learning rate (a tag: no replacement, no IAM change)
            digests = [[m.group(2) for m in CONFIG_DIGEST.finditer(v)] for v in (v1, v2)]
            assert len(digests[0]) == len(digests[1]) == 1 and digests[0] != digests[1], digests
            v1, v2 = (CONFIG_DIGEST.sub(r"\1<digest>", LEARNING_RATE.sub("<rate>", v)) for v in (v1, v2))
        assert v1 == v2, stack

    result = cdk.aws(
        "cdk deploy --all (learning rate changed, default approval, no TTY)",
        "deploy", *STACKS, "--app", str(out), "--method=direct", "--no-previous-parameters",
    )  # fmt: skip
    assert result.returncode == 0, result.tail()
    assert "security-sensitive" not in result.output, result.tail()
    stack = aws("cloudformation").describe_stacks(StackName=CHANGED_STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack["StackStatus"]

    diff = cdk.aws(
        "cdk diff (learning rate changed)", "diff", *STACKS, "--app", str(out), "--method=template", "--fail"
    )
    _no_differences(diff, STACKS)


def test_destroy_keeps_the_buckets_their_objects_and_policies(
    cdk: Cdk, deployed: CliResult, assembly_v1: Path, aws: Callable[[str], Any]
) -> None:
    """GIVEN the deployed stacks with an object in each bucket WHEN ``cdk destroy --all`` THEN the stacks
    and their roles are gone (moto deletes what is not retained) and every bucket, with its object, is
    still there; the deployed templates retain every bucket policy with its bucket."""
    cfn = aws("cloudformation")
    s3 = aws("s3")
    iam = aws("iam")
    buckets: dict[str, str] = {}
    roles: dict[str, str] = {}
    for stack in STACKS:
        resources = _stack_resources(aws, stack)
        buckets.update({f"{stack}/{k}": v for k, v in _of_type(resources, "AWS::S3::Bucket").items()})
        roles.update({f"{stack}/{k}": v for k, v in _of_type(resources, "AWS::IAM::Role").items()})
        # moto creates no AWS::S3::BucketPolicy: check what CloudFormation was given to delete
        deployed_template = cfn.get_template(StackName=stack)["TemplateBody"]
        if isinstance(deployed_template, str):
            deployed_template = json.loads(deployed_template)
        kept = {
            logical: (resource["Type"], resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
            for logical, resource in deployed_template["Resources"].items()
            if resource["Type"] in ("AWS::S3::Bucket", "AWS::S3::BucketPolicy")
        }
        kinds = sorted(kind for kind, _, _ in kept.values())
        # each bucket has its policy (TLS only), both retained
        assert kinds.count("AWS::S3::Bucket") == kinds.count("AWS::S3::BucketPolicy") >= 2, (stack, kept)
        assert {(deletion, replace) for _, deletion, replace in kept.values()} == {("Retain", "Retain")}, (
            stack,
            kept,
        )
    assert len(buckets) >= 2 * len(STACKS) and roles
    for name in buckets.values():
        s3.put_object(Bucket=name, Key=MARKER_KEY, Body=name.encode())

    result = cdk.aws("cdk destroy --all", "destroy", *STACKS, "--force", "--app", str(assembly_v1))
    assert result.returncode == 0, result.tail()

    remaining = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    assert remaining.isdisjoint(STACKS), remaining
    for name in roles.values():  # the control: moto really deletes what is not retained
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=name)
    for where, name in buckets.items():
        s3.head_bucket(Bucket=name)
        assert s3.get_object(Bucket=name, Key=MARKER_KEY)["Body"].read() == name.encode(), where
