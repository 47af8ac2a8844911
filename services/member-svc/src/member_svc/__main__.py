from member_svc.config import Settings
from qunyun_shared.cli import main

main(package="member_svc", settings=Settings)
