"""SSM: the public parameter of the Deep Learning Base GPU AMI, which AWS
publishes and moto lacks (see ec2.AMI_ROOTS); and SendCommand's instances.

moto 5.2.5 runs every SendCommand on every instance in the region: with no
Targets its EC2 filter is empty and matches all reservations, terminated
instances too, so each gets an invocation (and the fake instance's answer,
instance.py) and the command's InstanceIds list them all. Here a command sent
with InstanceIds and no Targets runs on those instances only, as on AWS.
instance.py's SendCommand patch wraps this one (it imports this module).
"""

from __future__ import annotations

import datetime
import inspect

from moto.ec2.models import ec2_backends
from moto.ssm.models import Parameter, SimpleSystemManagerBackend

from . import ec2
from .core import patch, rule

SEND_COMMAND_INSTANCES = rule(
    "ssm.send-command-instances",
    "SendCommand with InstanceIds and no Targets runs on those instances only: one "
    "invocation each, and they are the command's InstanceIds (moto runs it on every "
    "instance in the region, terminated ones too)",
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html",
)


@patch(SimpleSystemManagerBackend, "get_parameter")
def _get_parameter(original, self, name):
    if name == ec2.GPU_PARAM:
        ami = ec2.gpu_image(ec2_backends[self.account_id][self.region_name])
        return Parameter(
            account_id=self.account_id, name=name, value=ami.id, parameter_type="String",
            description=None, allowed_pattern=None, keyid=None,
            last_modified_date=datetime.datetime.now(datetime.timezone.utc),
            version=1, data_type="text")
    return original(self, name)


@patch(SimpleSystemManagerBackend, "send_command")
def _send_command(original, self, *args, **kwargs):
    asked = inspect.signature(original).bind(self, *args, **kwargs).arguments
    # Copied first: moto extends the list it is given with every instance.
    wanted = list(dict.fromkeys(asked.get("instance_ids") or []))
    command = original(self, *args, **kwargs)
    if not asked.get("targets"):
        found = {i["InstanceId"]: i for i in command.invocations}
        command.instance_ids = wanted
        command.invocations = [found[i] for i in wanted if i in found]
        command.completed_count = command.target_count = len(wanted)
    return command
