from gateway_svc.config import Settings
from qunyun_shared.cli import main

main(package="gateway_svc", settings=Settings)
