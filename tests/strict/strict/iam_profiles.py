"""Instance profiles: removing a role the profile does not hold. moto raises
a Python ValueError there (an HTML 500, which the SDK retries and then gives
up on); AWS answers NoSuchEntity. A removal whose answer was lost and is
retried meets exactly this, so without the rule a destroy under faults fails
on moto where it would finish on AWS."""

from __future__ import annotations

from moto.iam.exceptions import NotFoundException
from moto.iam.models import IAMBackend

from .core import patch, rule

REMOVE_ABSENT = rule(
    "iam.remove-role-not-in-profile",
    "RemoveRoleFromInstanceProfile of a role the profile does not hold answers "
    "NoSuchEntity (moto crashes with a 500)",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_RemoveRoleFromInstanceProfile.html",
)


@patch(IAMBackend, "remove_role_from_instance_profile")
def _remove_role(original, self, profile_name, role_name):
    profile = self.get_instance_profile(profile_name)
    role = self.get_role(role_name)
    if role not in profile.roles:
        raise NotFoundException(
            f"The role with name {role_name} cannot be found in instance profile "
            f"{profile_name}.")
    return original(self, profile_name, role_name)
