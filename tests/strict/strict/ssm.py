"""SSM: the public parameter of the Deep Learning Base GPU AMI, which AWS
publishes and moto lacks (see ec2.AMI_ROOTS)."""

from __future__ import annotations

import datetime

from moto.ec2.models import ec2_backends
from moto.ssm.models import Parameter, SimpleSystemManagerBackend

from . import ec2
from .core import patch


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
