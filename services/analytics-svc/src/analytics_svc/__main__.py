from analytics_svc.config import Settings
from qunyun_shared.cli import main

main(package="analytics_svc", settings=Settings)
