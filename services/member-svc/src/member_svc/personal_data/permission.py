"""Who may see members' identifiers unmasked and act on them: a role with the personal-data permission."""

from member_svc.exceptions import PersonalDataNotAllowed
from qunyun_shared.identity import Identity

PERSONAL_DATA_PERMISSION = "members:personal_data"


def may_see_personal_data(caller: Identity) -> bool:
    """Whether the caller's role may see identifiers unmasked."""
    return bool({"*", PERSONAL_DATA_PERMISSION} & caller.permissions)


def require_personal_data_permission(caller: Identity, action: str) -> None:
    if not may_see_personal_data(caller):
        raise PersonalDataNotAllowed(f"{action} needs the {PERSONAL_DATA_PERMISSION} permission.")
