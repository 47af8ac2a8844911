from content_svc.config import Settings
from qunyun_shared.cli import main

main(package="content_svc", settings=Settings)
